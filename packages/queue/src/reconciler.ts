import { listUnqueuedJobs, markEnqueued } from '@agents/db';
import type { Db } from '@agents/db';
import type { Logger } from '@agents/observability';
import type { Producer } from './producer';
import { reviveStrandedEntries } from './revive-stranded';

export interface ReconcilerOptions {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Rows younger than this may still be on their way into the queue from the API (ms). */
  graceMs: number;
  batch?: number;
}

/**
 * DESIGN.md decision 2: a job row committed without its queue entry (Redis was down, the API
 * died between the two writes) is enqueued here. BullMQ jobId = job id makes a double add a no-op,
 * so running this on every process at once is safe.
 */
export async function reconcileUnqueued(opts: ReconcilerOptions): Promise<number> {
  const jobs = await listUnqueuedJobs(opts.db, opts.graceMs, opts.batch ?? 500);
  const done: string[] = [];
  for (const job of jobs) {
    try {
      await opts.producer.enqueueRun({ job_id: job.id, tenant_id: job.tenant_id });
      done.push(job.id);
    } catch (err) {
      opts.logger.warn({ err: { message: (err as Error).message }, job_id: job.id }, 'reconciler could not enqueue; will retry');
      break;
    }
  }
  await markEnqueued(opts.db, done);
  if (done.length) opts.logger.info({ count: done.length }, 'reconciler enqueued committed jobs that had no queue entry');
  return done.length;
}

/** Runs `reconcileUnqueued` now and every `everyMs`; returns a stop function. */
export function startReconciler(opts: ReconcilerOptions & { everyMs: number }): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await reconcileUnqueued(opts);
      await reviveStrandedEntries(opts);
    } catch (err) {
      opts.logger.warn({ err: { message: (err as Error).message } }, 'reconciler pass failed');
    } finally {
      running = false;
    }
  };
  void tick();
  const t = setInterval(() => void tick(), opts.everyMs);
  t.unref();
  return () => clearInterval(t);
}
