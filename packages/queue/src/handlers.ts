import type { Job as BullJob, Processor } from 'bullmq';
import { parsePayload } from './catalog';
import type { JobName, JobPayload, SystemJobName } from './catalog';
import type { RunContext, RunHandler } from './dispatcher';

/** What a handler gets beside its parsed payload, per kind. */
export interface HandlerContexts {
  /** A tenant job run, from the fair dispatcher: cancellation signal, attempts, the BullMQ entry. */
  'job.run': RunContext & { job: BullJob };
  /** A system-queue job, from a BullMQ Worker: the entry and its lock token (to move it while running). */
  'webhook.deliver': { job: BullJob; token?: string };
  'billing.rollup': { job: BullJob; token?: string };
}

export type Handler<N extends JobName> = (payload: JobPayload<N>, ctx: HandlerContexts[N]) => Promise<unknown>;

/** One handler per kind in the catalog: a kind added without its handler is a compile error. */
export type JobHandlers = { [N in JobName]: Handler<N> };

/** The dispatcher's view of the `job.run` handler: the payload is parsed before the handler runs. */
export function runHandlerOf(handlers: Pick<JobHandlers, 'job.run'>): RunHandler {
  const handle = handlers['job.run'];
  return async (job, ctx) => handle(parsePayload('job.run', job.data), { ...ctx, job });
}

/** A BullMQ Worker processor for a system kind: parses the payload, then runs its handler. */
export function processorOf<N extends SystemJobName>(name: N, handlers: Pick<JobHandlers, N>): Processor {
  const handle = handlers[name] as Handler<N>;
  return async (job, token) => handle(parsePayload(name, job.data), { job, token } as HandlerContexts[N]);
}
