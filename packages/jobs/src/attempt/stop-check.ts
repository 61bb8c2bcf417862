import { getJobById } from '@agents/db';
import type { Db, Job } from '@agents/db';
import { ShutdownAbort } from '@agents/queue';
import { EndJob } from './attempt-errors';

/**
 * How often a running job re-reads its row for a cancel request (ms), as the backstop behind the
 * pub/sub cancel signal that normally stops it at once: a job whose cancel message was missed
 * stops before its next model or tool call that starts this long after the previous read.
 */
export const CANCEL_BACKSTOP_MS = 1_000;

export interface StopCheckOptions {
  db: Db;
  job: Job;
  /** The run's own signal: cancel (reason code `cancelled`), lost lock or shutdown. */
  runSignal: AbortSignal;
  /** Fires at the job's wall-clock limit. */
  timeout: AbortSignal;
  timeoutMs: number;
  backstopMs: number;
}

/**
 * Runs before every model or tool call and after an abort: throws why the attempt must stop now
 * (EndJob for cancel and timeout, the run signal's own reason for shutdown and a lost lock).
 * startAttempt has just read the row; it is read again only once backstopMs have passed.
 */
export function createStopCheck(o: StopCheckOptions): () => Promise<void> {
  let cancelRequested = Boolean(o.job.cancel_requested_at);
  let rowReadAt = Date.now();
  return async () => {
    const { runSignal } = o;
    if (runSignal.aborted && runSignal.reason instanceof ShutdownAbort) throw runSignal.reason;
    const signalled = runSignal.aborted && (runSignal.reason as { code?: string })?.code === 'cancelled';
    if (!signalled && !cancelRequested && Date.now() - rowReadAt >= o.backstopMs) {
      const current = await getJobById(o.db, o.job.id);
      rowReadAt = Date.now();
      cancelRequested = !current || current.status === 'cancelled' || Boolean(current.cancel_requested_at);
    }
    if (signalled || cancelRequested) throw new EndJob({ code: 'cancelled', message: 'Cancelled on request.' }, 'cancelled');
    if (o.timeout.aborted) throw new EndJob({ code: 'timeout', message: `The job exceeded its ${o.timeoutMs} ms time limit.` });
    if (runSignal.aborted) throw runSignal.reason;
  };
}
