// Submission: what POST /v1/tenants/{tid}/jobs does, independent of the HTTP framework.

// Attempts: what one run of a job does in a worker, from its row to its terminal state.
export { runJobAttempt, maxIterationsFor } from './attempt/run-job-attempt';
export type { JobAttemptDeps, AttemptResult } from './attempt/run-job-attempt';
export { RetryLater, HandBack, NonRetryable } from './attempt/attempt-errors';
export { CANCEL_BACKSTOP_MS } from './attempt/stop-check';
export { createToolCallAdmission } from './attempt/tool-call-admission';
export type { ToolCallAdmissionOptions } from './attempt/tool-call-admission';
