// Submission: what POST /v1/tenants/{tid}/jobs does, independent of the HTTP framework.
export { createSubmitJob, validationDetails } from './submission/submit-job';
export type { JobOrigin, SubmitJob, SubmitJobDeps, SubmitJobRequest, SubmitJobResponse } from './submission/submit-job';
export { createJobIntake } from './submission/job-intake';
export type { JobIntake, JobIntakeOptions } from './submission/job-intake';
export { SubmissionError, SUBMISSION_ERROR_STATUS, errorEnvelope } from './submission/submission-error';
export type { SubmissionErrorCode, ErrorDetail } from './submission/submission-error';
export { canonicalJson } from './submission/canonical-json';
export {
  SERVER_ID,
  serverId,
  environment,
  TOOL_NAME,
  toolName,
  LIMITS,
  METADATA_KEY,
  metadata,
  workflowStep,
  createJobBody,
  IDEMPOTENCY_KEY,
  idempotencyKey,
} from './submission/job-body';
export type { CreateJobBody } from './submission/job-body';

// Attempts: what one run of a job does in a worker, from its row to its terminal state.
export { runJobAttempt, maxIterationsFor, WORKFLOW_RETRY_SEQ_STRIDE } from './attempt/run-job-attempt';
export type { JobAttemptDeps, AttemptResult } from './attempt/run-job-attempt';
export { RetryLater, HandBack, NonRetryable, JobFailed } from './attempt/attempt-errors';
export { attemptSummary } from './attempt/attempt-summary';
export type { AttemptSummary } from './attempt/attempt-summary';
export { CANCEL_BACKSTOP_MS } from './attempt/stop-check';
export { createToolCallAdmission } from './attempt/tool-call-admission';
export { toolCallUsageEvent } from './attempt/usage-rows';
export type { ToolCallAdmissionOptions } from './attempt/tool-call-admission';

// Retry: an operator runs a failed job again, from its checkpoints.
export { retryJob } from './retry/retry-job';
export type { RetryJobDeps, RetryJobOutcome } from './retry/retry-job';

// Events: a job's numbered event log, replayed and then followed live (the SSE routes' base).
export { jobEvents, JOB_EVENTS_KEEP_ALIVE_MS } from './events/job-events';
export type { JobEventsDeps, JobEventsQuery, JobStreamItem } from './events/job-events';
export { createJobEventHub } from './events/job-event-hub';
export type { JobEventHub, JobEventSubscriber, JobEventWatcher } from './events/job-event-hub';
export { createJobEventNotifier, jobEventChannel } from './events/job-event-channel';
export type { JobEventNotifier, JobEventPublisher } from './events/job-event-channel';
export { sseFrame } from './events/sse-frame';
