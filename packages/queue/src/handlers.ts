import type { Job as BullJob, Processor } from 'bullmq';
import { parsePayload } from './catalog';
import type { JobName, JobPayload, SystemJobName, TenantJobName } from './catalog';
import type { RunContext, RunHandler } from './dispatcher';

/** What a handler gets beside its parsed payload, per kind. */
export interface HandlerContexts {
  /** A tenant job run, from the fair dispatcher: cancellation signal, attempts, the BullMQ entry. */
  'job.run': RunContext & { job: BullJob };
  /** A session's tool call, from the same dispatcher (so the tenant's slots and cap apply to it). */
  'session.call': RunContext & { job: BullJob };
  /** A system-queue job, from a BullMQ Worker: the entry and its lock token (to move it while running). */
  'webhook.deliver': { job: BullJob; token?: string };
  'billing.rollup': { job: BullJob; token?: string };
}

export type Handler<N extends JobName> = (payload: JobPayload<N>, ctx: HandlerContexts[N]) => Promise<unknown>;

/** One handler per kind in the catalog: a kind added without its handler is a compile error. */
export type JobHandlers = { [N in JobName]: Handler<N> };

/**
 * The dispatcher's handler: the entry's name picks the tenant kind's handler, which gets the
 * parsed payload. An entry of a kind this catalog does not have is refused (a producer newer than
 * this worker): it fails, and BullMQ retries it on a worker that knows it.
 */
export function runHandlerOf(handlers: Pick<JobHandlers, TenantJobName>): RunHandler {
  return async (job, ctx) => {
    switch (job.name as TenantJobName) {
      case 'session.call':
        return handlers['session.call'](parsePayload('session.call', job.data), { ...ctx, job });
      case 'job.run':
        return handlers['job.run'](parsePayload('job.run', job.data), { ...ctx, job });
      default:
        throw new Error(`no handler for the tenant job kind "${String(job.name).slice(0, 64)}"`);
    }
  };
}

/** A BullMQ Worker processor for a system kind: parses the payload, then runs its handler. */
export function processorOf<N extends SystemJobName>(name: N, handlers: Pick<JobHandlers, N>): Processor {
  const handle = handlers[name] as Handler<N>;
  return async (job, token) => handle(parsePayload(name, job.data), { job, token } as HandlerContexts[N]);
}
