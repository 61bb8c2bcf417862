import { UnrecoverableError } from 'bullmq';
import { HandBack, JobFailed, NonRetryable, RetryLater, runJobAttempt } from '@agents/jobs';
import type { AttemptSummary, JobAttemptDeps } from '@agents/jobs';
import type { Handler, HandlerContexts } from '@agents/queue';

/**
 * The `job.run` processor: one attempt (runJobAttempt) in BullMQ's terms, so that the queue (and
 * Bull Board) says what the job row says. Succeeded or cancelled completes the entry, its return
 * value the attempt's summary; a failed job (JobFailed) fails the entry for good, its reason the
 * job's `<code>: <message>`; RetryLater throws its cause so BullMQ retries with backoff; HandBack
 * throws the dispatcher's own ShutdownAbort/LockLost; NonRetryable fails the entry for good.
 *
 * The summary (type, servers, attempts, retries, error; the input only as its size) also goes to
 * the entry's log (`job.log`, Bull Board's Logs tab): the payload stays ids only (see
 * attemptSummary for why), and a log line per attempt keeps the history a return value overwrites.
 */
export function createJobRunHandler(deps: JobAttemptDeps): Handler<'job.run'> {
  return async ({ job_id }, ctx) => {
    try {
      const result = await runJobAttempt(deps, job_id, ctx);
      if ('summary' in result && result.summary) await note(ctx, result.summary);
      return result;
    } catch (err) {
      if (err instanceof RetryLater || err instanceof HandBack) throw err.cause;
      if (err instanceof JobFailed) {
        await note(ctx, err.summary);
        throw new UnrecoverableError(err.message);
      }
      if (err instanceof NonRetryable) throw new UnrecoverableError(err.message);
      throw err;
    }
  };
}

/** One log line on the entry; a log that cannot be written must not change the job's outcome. */
async function note(ctx: HandlerContexts['job.run'], summary: AttemptSummary): Promise<void> {
  await ctx.job.log(JSON.stringify(summary)).catch(() => undefined);
}
