import { insertJobs, markEnqueued } from '@agents/db';
import type { Db, InsertJobResult, NewJob } from '@agents/db';
import type { Producer } from '@agents/queue';
import type { Logger } from '@agents/observability';
import { createMicroBatcher } from '@agents/queue';

export interface JobIntakeOptions {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Jobs per batch at most (one multi-row INSERT, one pipelined enqueue, one UPDATE after the answer each). */
  maxBatch?: number;
  /** Batches writing at once before new submissions wait for one (at most `windowMs`). */
  maxInFlight?: number;
  windowMs?: number;
}

export interface JobIntake {
  /**
   * Writes the job row (honouring its Idempotency-Key, see `insertJob`) and, when it is new or
   * was never enqueued, puts it on its tenant queue. Rejects when the row could not be written
   * (nothing was: the caller answers 503); once the row is committed it resolves, whatever the
   * enqueue did — a row without its queue entry is picked up by the reconciler. It resolves
   * before `enqueued_at` is recorded (see `settled`).
   */
  submit(job: NewJob): Promise<InsertJobResult>;
  /**
   * Resolves once the `enqueued_at` marks of every batch enqueued so far are written (or failed
   * and logged). Shutdown awaits it before closing the database.
   */
  settled(): Promise<void>;
}

/**
 * Job submission with the writes batched across concurrent requests: per batch ONE multi-row
 * INSERT (`insertJobs`), ONE enqueue (`addBulk` per tenant queue + one activation) and ONE
 * `markEnqueued`, instead of three round trips (plus an activation) per request.
 *
 * The submissions are answered once their jobs are enqueued, without waiting for `markEnqueued`:
 * the mark only spares the reconciler work (it skips marked rows). A mark that fails is logged;
 * the reconciler then adds the job again after its grace period, a no-op for a job its queue
 * already holds (BullMQ jobId = job id), and marks it. A worker's `startAttempt` marks it too.
 */
export function createJobIntake(opts: JobIntakeOptions): JobIntake {
  const { db, producer, logger } = opts;
  // Marks not settled yet.
  const marking = new Set<Promise<void>>();

  function markInBackground(ids: string[]): void {
    if (!ids.length) return;
    const mark: Promise<void> = markEnqueued(db, ids)
      .catch((err: unknown) => {
        logger.warn(
          { err: { message: (err as Error).message }, job_ids: ids },
          'could not record that these jobs were enqueued; the reconciler re-adds them (a no-op for jobs their queue holds)',
        );
      })
      .finally(() => marking.delete(mark));
    marking.add(mark);
  }

  async function run(jobs: NewJob[]): Promise<PromiseSettledResult<InsertJobResult>[]> {
    // A failed INSERT throws: one statement, so nothing of the batch was written.
    const outcomes = await insertJobs(db, jobs);
    const toEnqueue = new Map<string, { job_id: string; tenant_id: string }>();
    for (const o of outcomes) {
      if ((o.kind === 'created' || o.kind === 'replayed') && !o.job.enqueued_at) toEnqueue.set(o.job.id, { job_id: o.job.id, tenant_id: o.job.tenant_id });
    }
    if (toEnqueue.size) {
      // The rows are committed: from here the jobs are durable. Whatever the enqueue does, the
      // reconciler adds what is missing later (BullMQ jobId = job id makes a double add harmless).
      try {
        const enqueued = await producer.enqueueRuns([...toEnqueue.values()]);
        if (enqueued.length < toEnqueue.size) {
          const done = new Set(enqueued);
          const missed = [...toEnqueue.keys()].filter((id) => !done.has(id));
          logger.warn({ job_ids: missed }, 'enqueue failed; the reconciler will enqueue these jobs');
        }
        markInBackground(enqueued);
      } catch (err) {
        logger.warn({ err: { message: (err as Error).message }, job_ids: [...toEnqueue.keys()] }, 'enqueue failed; the reconciler will enqueue these jobs');
      }
    }
    return outcomes.map((o) => (o.kind === 'error' ? { status: 'rejected', reason: o.error } : { status: 'fulfilled', value: o }));
  }

  const submit = createMicroBatcher<NewJob, InsertJobResult>({
    run,
    maxBatch: opts.maxBatch ?? 64,
    maxInFlight: opts.maxInFlight ?? 2,
    windowMs: opts.windowMs ?? 2,
  });
  return {
    submit,
    async settled() {
      while (marking.size) await Promise.all(marking);
    },
  };
}
