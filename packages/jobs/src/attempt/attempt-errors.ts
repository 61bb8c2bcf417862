import type { JobError } from '@agents/db';

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
