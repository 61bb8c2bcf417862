import { UnrecoverableError } from 'bullmq';
import { HandBack, NonRetryable, RetryLater, runJobAttempt } from '@agents/jobs';
import type { JobAttemptDeps } from '@agents/jobs';
import type { Handler } from '@agents/queue';

/**
 * The `job.run` processor: one attempt (runJobAttempt) in BullMQ's terms. A terminal outcome
 * completes the entry; RetryLater throws its cause so BullMQ retries with backoff; HandBack
 * throws the dispatcher's own ShutdownAbort/LockLost; NonRetryable fails the entry for good.
 */
export function createJobRunHandler(deps: JobAttemptDeps): Handler<'job.run'> {
  return async ({ job_id }, ctx) => {
    try {
      return await runJobAttempt(deps, job_id, ctx);
    } catch (err) {
      if (err instanceof RetryLater || err instanceof HandBack) throw err.cause;
      if (err instanceof NonRetryable) throw new UnrecoverableError(err.message);
      throw err;
    }
  };
}
