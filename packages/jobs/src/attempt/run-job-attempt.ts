import { getJobById, listSteps, reportQueueFailure, retryFailedJob, startAttempt } from '@agents/db';
import type { Db, Job, JobError, Tenant, TenantCache } from '@agents/db';
import { LockLost, QuotaExceededError, ShutdownAbort } from '@agents/queue';
import type { RunContext } from '@agents/queue';
import { buildSystemPrompt, DEFAULT_MAX_ITERATIONS, isModelError, runAgentLoop, runWorkflow } from '@agents/agent';
import type { ModelProvider, WorkflowStepOutcome } from '@agents/agent';
import type { Runtime, Session } from '@agents/runtime';
import type { Logger } from '@agents/observability';
import { jobEventTarget } from '@agents/webhooks';
import { EndJob, HandBack, JobFailed, NonRetryable, RetryLater } from './attempt-errors';
import { attemptSummary } from './attempt-summary';
import type { AttemptSummary } from './attempt-summary';
import { createAgentCheckpoints } from './agent-checkpoints';
import { createStepStore } from './step-store';
import type { StepStore } from './step-store';
import { CANCEL_BACKSTOP_MS, createStopCheck } from './stop-check';
import { toolCallUsageRow } from './usage-rows';
import type { JobEventNotifier } from '../events/job-event-channel';

export interface JobAttemptDeps {
  db: Db;
  /** Tenant config, cached per process and invalidated on every change (createTenantCache). */
  tenants: Pick<TenantCache, 'get'>;
  runtime: Runtime;
  logger: Logger;
  jobTimeoutMs: number;
  /** Answers agent jobs: the model as used on behalf of one tenant (its calls budgeted for it). */
  model(tenantId: string): ModelProvider;
  /** Model id when the job names none (OPENAI_MODEL). */
  defaultModel: string;
  /**
   * Model ids a job may name (OPENAI_ALLOWED_MODELS + OPENAI_MODEL). Submission refuses others;
   * this catches rows written before that check or by other writers: such a job fails with
   * model_error before any model call. Unset: every name is accepted.
   */
  allowedModels?: readonly string[];
  /** Model tokens one job may spend (input + output); 0 = unlimited (JOB_TOKEN_BUDGET). */
  jobTokenBudget: number;
  /** Default CANCEL_BACKSTOP_MS. */
  cancelBackstopMs?: number;
  /** Told after each write that adds to the job's event log (start, step, finish): live streams read it then. */
  jobEvents?: JobEventNotifier;
}

/**
 * How an attempt ended when it did not throw: the job's terminal status (with what ops see of it on
 * the queue entry), or nothing to do. A `failed` job is not returned but thrown (JobFailed).
 */
export type AttemptResult = { status: Job['status'] | 'already_terminal'; summary?: AttemptSummary } | { skipped: 'terminal_or_missing' };

/**
 * A workflow step's sequence number (checkpoint, usage row, MCP idempotency key `<job_id>:<seq>`)
 * is `retries × WORKFLOW_RETRY_SEQ_STRIDE + index`: a retried job re-runs the step that failed as a
 * new call (a provider that stored the failed call under its key would answer it again), metered
 * as one, while the steps that succeeded are replayed from their checkpoints and never sent again.
 * Above LIMITS.steps (50).
 */
export const WORKFLOW_RETRY_SEQ_STRIDE = 1000;

type Outcome = { status: 'succeeded'; output: unknown } | { status: 'failed'; output?: unknown; error: JobError };

/**
 * The job's iteration limit: its own, capped by the tenant's limit (set by the operator, a
 * ceiling no job can raise), else the platform default.
 */
export function maxIterationsFor(job: Pick<Job, 'max_iterations'>, tenant: Pick<Tenant, 'limits'>): number {
  const ceiling = tenant.limits?.max_iterations;
  const own = job.max_iterations ?? ceiling ?? DEFAULT_MAX_ITERATIONS;
  return ceiling === undefined || ceiling === null ? own : Math.min(own, ceiling);
}

/**
 * One attempt at one job, from its row to its terminal state. Outcomes no retry can change
 * (success, a tool failure, max_iterations, cancel, timeout, quota, a model error a retry cannot
 * fix, a step Postgres refuses) are written to the row and returned. Otherwise it throws one of
 * the attempt errors: RetryLater (transient trouble: infrastructure, a model rate limited or
 * down, a provider unreachable), HandBack (shutdown, lost lock), NonRetryable (the entry must not
 * run again: stalled out, attempts exhausted). Every retry resumes from the stored steps.
 */
export async function runJobAttempt(deps: JobAttemptDeps, jobId: string, ctx: RunContext): Promise<AttemptResult> {
  const { db } = deps;
  if (ctx.stalledOut) {
    // Its worker died or hung every time it ran this job: do not run it again.
    const deliverTo = async () => {
      const job = await getJobById(db, jobId);
      return job ? jobEventTarget(job, await deps.tenants.get(job.tenant_id)) : null;
    };
    const failed = await createStepStore(db, jobId, deps.logger, {
      queueAttempt: ctx.attemptsMade,
      deliverTo,
      stored: () => deps.jobEvents?.changed(jobId),
    }).finish({
      status: 'failed',
      error: { code: 'internal', message: 'The job was interrupted repeatedly while running (its worker stopped each time); it was not run again.' },
    });
    deps.logger.warn({ job_id: jobId, tenant_id: ctx.tenantId, reason: ctx.stalledOut, recorded: Boolean(failed) }, 'job failed after repeated stalls');
    if (failed?.error) throw new JobFailed(failed.error, attemptSummary(failed));
    throw new NonRetryable(ctx.stalledOut);
  }
  const job = (await startAttempt(db, jobId)) ?? (await resumeFailed(deps, jobId, ctx));
  if (!job) return { skipped: 'terminal_or_missing' };
  deps.jobEvents?.changed(job.id);
  // The request that created the job (and its W3C trace), so its logs join the API's.
  const log = deps.logger.child({
    tenant_id: job.tenant_id,
    job_id: job.id,
    attempt: job.attempts,
    ...(job.request_id ? { request_id: job.request_id } : {}),
    ...(job.trace_id ? { trace_id: job.trace_id, parent_span_id: job.parent_span_id } : {}),
  });
  log.debug({ type: job.type }, 'job attempt started');
  // The tenant as it is at the finish (its webhook_url may change while the job runs).
  const steps = createStepStore(db, job.id, log, {
    queueAttempt: ctx.attemptsMade,
    deliverTo: async () => jobEventTarget(job, await deps.tenants.get(job.tenant_id)),
    stored: () => deps.jobEvents?.changed(job.id),
  });

  // Jobs that can never succeed finish as failed at once, without spending retries.
  const tenant = await deps.tenants.get(job.tenant_id);
  if (!tenant || tenant.disabled)
    return ended(await steps.finish({ status: 'failed', error: { code: 'tenant_disabled', message: 'The tenant is disabled or gone.' } }));
  const invalid = validationProblem(job);
  if (invalid) return ended(await steps.finish({ status: 'failed', error: { code: 'validation_failed', message: invalid } }));

  // Wall clock counts from the first start, so retries cannot extend a job past its timeout.
  const elapsed = Date.now() - (job.started_at ?? new Date()).getTime();
  const timeout = AbortSignal.timeout(Math.max(1, deps.jobTimeoutMs - elapsed));
  const signal = AbortSignal.any([ctx.signal, timeout]);
  const checkStop = createStopCheck({
    db,
    job,
    runSignal: ctx.signal,
    timeout,
    timeoutMs: deps.jobTimeoutMs,
    backstopMs: deps.cancelBackstopMs ?? CANCEL_BACKSTOP_MS,
  });
  const lastAttempt = ctx.attemptsMade + 1 >= ctx.maxAttempts;

  const servers = job.servers.filter((s) => tenant.servers.includes(s));
  // A session's message runs as that session: its tool-call records name it.
  const session = deps.runtime.sessions.create({
    ...(job.session_id ? { id: job.session_id } : {}),
    tenantId: job.tenant_id,
    environment: job.environment,
    servers,
    metadata: job.metadata,
  });
  try {
    let outcome: Outcome;
    try {
      outcome =
        job.type === 'workflow'
          ? await runWorkflowJob(job, session, signal, checkStop, !lastAttempt, steps, db)
          : await runAgentJob(deps, job, tenant, session, signal, checkStop, steps);
      // A cancel or timeout that landed during the last call still wins over its result.
      if (signal.aborted) await checkStop();
    } catch (err) {
      // An abort (cancel, timeout, lost lock, shutdown) surfaces from inside a model or tool call
      // as an AbortError; checkStop turns it into the reason it happened.
      if (signal.aborted && !(err instanceof EndJob)) await checkStop();
      throw err;
    }
    const finished = await steps.finish(outcome);
    log.info({ status: finished?.status ?? 'already_terminal' }, 'job attempt finished');
    return ended(finished);
  } catch (err) {
    if (err instanceof JobFailed) throw err;
    const end = endOf(err, lastAttempt, log);
    if (end instanceof EndJob) {
      const stopped = await steps.finish({ status: end.status, error: end.jobError });
      log.info({ status: end.status, code: end.jobError.code }, 'job stopped');
      return ended(stopped);
    }
    await handOver(end, steps, lastAttempt);
    throw end;
  } finally {
    await session.close();
  }
}

/**
 * The attempt's answer for the row it left terminal (undefined: another transition won first). A
 * failed job is thrown as JobFailed: its queue entry fails for good with the job's error as the
 * reason, and `failed_queue_attempt` (written by the same finish) marks the queue attempt that did it.
 */
function ended(job: Job | undefined): AttemptResult {
  if (!job) return { status: 'already_terminal' };
  if (job.status === 'failed') throw new JobFailed(job.error ?? { code: 'internal', message: 'The job failed.' }, attemptSummary(job));
  return { status: job.status, summary: attemptSummary(job) };
}

/**
 * startAttempt found the job terminal or missing. A failed job runs again only on an explicit
 * retry; there are two ways to ask for one:
 * - `retryJob` (the API's retry route, the ops CLI) moves the row to queued itself, so startAttempt
 *   takes it like any queued job and this is not reached;
 * - Bull Board's Retry (BullMQ `job.retry`) brings the entry back from the failed set, which leaves
 *   its `attemptsMade` above the one the failing run recorded (`failed_queue_attempt`: moving an
 *   entry to failed counts an attempt). That is recognised here and made the same transition.
 * Every other run of an entry whose job is failed is stale (a run stalled after writing the
 * failure, an entry re-added): the same `attemptsMade`, or a fresh entry's lower one. It never
 * resurrects the job: the entry is failed with the job's reason (recording this run as the one
 * that reported it, so that a board retry of that entry is recognised in turn).
 */
async function resumeFailed(deps: JobAttemptDeps, jobId: string, ctx: RunContext): Promise<Job | undefined> {
  const row = await getJobById(deps.db, jobId);
  if (row?.status !== 'failed') return undefined;
  const seen = row.failed_queue_attempt;
  if (seen !== null && ctx.attemptsMade > seen) {
    // Conditional on the row as read: a concurrent retry (API, another board click) wins or loses as a whole.
    const retried = await retryFailedJob(deps.db, { id: jobId, expectQueueAttempt: seen });
    deps.logger.info({ job_id: jobId, tenant_id: row.tenant_id, retried: retried.kind === 'retried' }, 'failed job retried from its queue entry');
    return startAttempt(deps.db, jobId);
  }
  const reported = await reportQueueFailure(deps.db, jobId, ctx.attemptsMade);
  // Retried by someone else between the two reads: it is queued now, and this run takes it.
  if (!reported) return startAttempt(deps.db, jobId);
  deps.logger.info({ job_id: jobId, tenant_id: row.tenant_id }, 'stale queue entry of a failed job: failed again, not run');
  throw new JobFailed(reported.error ?? { code: 'internal', message: 'The job failed.' }, attemptSummary(reported));
}

/** What an error thrown inside an attempt means for the job (see runJobAttempt). */
function endOf(err: unknown, lastAttempt: boolean, log: Logger): EndJob | RetryLater | HandBack {
  if (err instanceof EndJob) return err;
  if (err instanceof ShutdownAbort || err instanceof LockLost) return new HandBack(err);
  // The runtime refused the next tool call before making it: the month's quota is spent.
  if (err instanceof QuotaExceededError) return new EndJob({ code: 'quota_exceeded', message: err.message });
  if (isModelError(err)) {
    // The provider's message is already scrubbed of keys; retry only what a later attempt could fix.
    log.warn({ retryable: err.retryable, status: err.status, provider_code: err.providerCode }, 'model call failed');
    return err.retryable && !lastAttempt ? new RetryLater(err) : new EndJob({ code: 'model_error', message: err.message });
  }
  log.warn({ err: { message: (err as Error)?.message } }, 'job attempt failed');
  return new RetryLater(err);
}

/**
 * The attempt ends without a terminal state: the held step is stored so the next run does not
 * redo it; on the last attempt a retry becomes the job's failure for good.
 */
async function handOver(end: RetryLater | HandBack, steps: StepStore, lastAttempt: boolean): Promise<void> {
  if (end instanceof RetryLater && lastAttempt) {
    const recorded = await steps.finish({ status: 'failed', error: { code: 'internal', message: 'The job failed after its retries.' } }).then(
      (job) => job ?? null,
      () => undefined,
    );
    // Unrecorded (Postgres down): the reconciler finds the row non-terminal and retries it.
    if (recorded === undefined) await steps.release();
    if (recorded?.status === 'failed' && recorded.error) throw new JobFailed(recorded.error, attemptSummary(recorded));
    throw new NonRetryable('attempts exhausted');
  }
  await steps.release();
}

/** A workflow step could not reach its provider; the attempt is retried (see runWorkflowJob). */
class ProviderUnreachable extends Error {
  readonly code = 'connection_failed';
}

async function runWorkflowJob(
  job: Job,
  session: Session,
  signal: AbortSignal,
  checkStop: () => Promise<void>,
  canRetry: boolean,
  steps: StepStore,
  db: Db,
): Promise<Outcome> {
  const completed = new Map<number, WorkflowStepOutcome>();
  const base = job.retries * WORKFLOW_RETRY_SEQ_STRIDE;
  // Only an earlier attempt (job.attempts counts this one) can have left checkpoints. Of earlier
  // generations (before an operator's retry) only the steps that succeeded count; the step that
  // failed runs again. Within this generation every stored step counts (a crash-resume replays it).
  if (job.attempts > 1) {
    for (const s of await listSteps(db, job.id)) {
      if (s.kind !== 'workflow_step') continue;
      const outcome = s.payload as WorkflowStepOutcome;
      if (outcome.success || s.seq >= base) completed.set(s.seq % WORKFLOW_RETRY_SEQ_STRIDE, outcome);
    }
  }

  const result = await runWorkflow(
    job.steps ?? [],
    {
      completed,
      beforeStep: async () => {
        await steps.writeHeld();
        await checkStop();
      },
      execute: (i, tool, args) => session.execute(tool, args, { idempotencyKey: `${job.id}:${base + i}`, signal }),
      checkpoint: async (i, outcome, res) => {
        // A call cut off by our own abort (shutdown deadline, cancel, timeout) is not a result: never
        // checkpoint it, or a resumed attempt would replay it as a failed step.
        if (signal.aborted) await checkStop();
        // The provider could not be reached (nothing happened there): while attempts remain this is
        // transient, so the step is not recorded and the attempt retries with backoff; the last
        // attempt records it as the step's failure.
        if (res && res.error_code === 'connection_failed' && canRetry) throw new ProviderUnreachable(outcome.error?.message ?? 'provider unreachable');
        steps.hold({ jobId: job.id, seq: base + i, kind: 'workflow_step', payload: outcome, usage: res ? [toolCallUsageRow(job, base + i, res)] : [] });
      },
    },
    // An automation's job carries its triggering event: `{{event...}}` references read it.
    (job.context ?? {}) as Record<string, unknown>,
  );
  return result.ok ? { status: 'succeeded', output: result.output } : { status: 'failed', output: result.output, error: result.error };
}

async function runAgentJob(
  deps: JobAttemptDeps,
  job: Job,
  tenant: Tenant,
  session: Session,
  signal: AbortSignal,
  checkStop: () => Promise<void>,
  steps: StepStore,
): Promise<Outcome> {
  if (job.model !== null && deps.allowedModels && !deps.allowedModels.includes(job.model)) {
    return { status: 'failed', error: { code: 'model_error', message: `The model "${job.model}" is not allowed on this deployment.` } };
  }
  const result = await runAgentLoop({
    model: deps.model(job.tenant_id),
    modelName: job.model ?? deps.defaultModel,
    session,
    systemPrompt: buildSystemPrompt(tenant.instructions),
    input: job.input ?? '',
    maxIterations: maxIterationsFor(job, tenant),
    tokenBudget: deps.jobTokenBudget,
    checkpoints: createAgentCheckpoints(job, deps.db, steps),
    idempotencyKey: (seq) => `${job.id}:${seq}`,
    signal,
    beforeStep: checkStop,
  });
  return result.ok ? { status: 'succeeded', output: { message: result.message } } : { status: 'failed', error: result.error };
}

/** What makes a stored job unrunnable whatever the retries (the API validates too; rows can come from elsewhere). */
function validationProblem(job: Job): string | null {
  if (job.type === 'agent' && !job.input?.trim()) return 'An agent job needs a non-empty input.';
  if (job.type === 'workflow' && !job.steps?.length) return 'A workflow job needs at least one step.';
  return null;
}
