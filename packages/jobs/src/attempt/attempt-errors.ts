import type { JobError } from '@agents/db';
import type { AttemptSummary } from './attempt-summary';

/**
 * How an attempt that does not end with a result hands its queue entry back. The queue adapter
 * (apps/worker) maps each to the queue's own terms, modelled on BullMQ's UnrecoverableError:
 * RetryLater → the entry is retried with backoff (the job resumes from its checkpoints);
 * HandBack → another run continues the job (shutdown, lost lock), nothing is recorded;
 * NonRetryable → the entry fails for good (the job row already says why, or the reconciler will
 * find it non-terminal and repair it).
 */
export class RetryLater extends Error {
  readonly code = 'retry_later';
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}

export class HandBack extends Error {
  readonly code = 'hand_back';
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}

export class NonRetryable extends Error {
  readonly code = 'non_retryable';
}

/** Inside an attempt: the job ends now with this terminal state (cancel, timeout, a fault no retry fixes). */
export class EndJob extends Error {
  constructor(
    readonly jobError: JobError,
    readonly status: 'failed' | 'cancelled' = 'failed',
  ) {
    super(jobError.message);
  }
}

/**
 * The job is `failed` (its row says so, written by this attempt or found so by a stale run of its
 * entry): the entry fails for good with the job's error code and message as its reason, so that
 * the queue (and Bull Board) tell what Postgres tells. Never retried by the queue itself; an
 * operator's retry (retryJob, Bull Board's Retry) runs it again.
 */
export class JobFailed extends NonRetryable {
  constructor(
    readonly jobError: JobError,
    readonly summary: AttemptSummary,
  ) {
    super(`${jobError.code}: ${jobError.message}`);
  }
}
