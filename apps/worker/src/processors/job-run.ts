import type { Job as BullJob } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { finishJob, getJobById, listSteps, startAttempt, writeCheckpoint } from '@agents/db';
import type { Checkpoint, Db, FinishJob, Job, JobError, Tenant, TenantCache } from '@agents/db';
import { LockLost, parsePayload, QuotaExceededError, ShutdownAbort } from '@agents/queue';
import type { RunContext, RunHandler } from '@agents/queue';
import { buildSystemPrompt, DEFAULT_MAX_ITERATIONS, isAbortError, isModelError, runAgentLoop, runWorkflow } from '@agents/agent';
import type { ModelProvider, WorkflowStepOutcome } from '@agents/agent';
import type { Runtime, ToolCallRecord, Session } from '@agents/runtime';
import type { Logger } from '@agents/observability';
import { createAgentCheckpoints } from './agent-checkpoints';
import { usageRowFromRecord } from './usage-row';

export { usageRowFromRecord } from './usage-row';

/**
 * How often a running job re-reads its row for a cancel request (ms), as the backstop behind the
 * pub/sub cancel signal that normally stops it at once: a job whose cancel message was missed
 * stops before its next model or tool call that starts this long after the previous read.
 */
export const CANCEL_BACKSTOP_MS = 1_000;

export interface JobRunDeps {
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
  /** Model tokens one job may spend (input + output); 0 = unlimited (JOB_TOKEN_BUDGET). */
  jobTokenBudget: number;
  /** Takes the runtime's usage record of a finished execute (see createMeterBuffer). */
  takeRecord(toolCallId: string): ToolCallRecord | undefined;
  /** Default CANCEL_BACKSTOP_MS. */
  cancelBackstopMs?: number;
}

/** Why a run stopped early; maps to the job's terminal error. */
class StopRun extends Error {
  constructor(readonly jobError: JobError, readonly status: 'failed' | 'cancelled') {
    super(jobError.message);
  }
}

type Outcome = { status: 'succeeded'; output: unknown } | { status: 'failed'; output?: unknown; error: JobError };

/** A workflow step could not reach its provider; BullMQ retries the attempt (see runWorkflowJob). */
class ProviderUnreachable extends Error {
  readonly code = 'connection_failed';
}

/** max_iterations: the job's own, else the tenant's limit, else the platform default. */
export function maxIterationsFor(job: Pick<Job, 'max_iterations'>, tenant: Pick<Tenant, 'limits'>): number {
  return job.max_iterations ?? tenant.limits?.max_iterations ?? DEFAULT_MAX_ITERATIONS;
}

/**
 * The `job.run` processor: one attempt at one job. Terminal outcomes (success, tool failure,
 * max_iterations, cancel, timeout, a model error no retry can fix) are written to the job row and
 * the BullMQ job completes; only transient trouble (infrastructure, a model that is rate limited or
 * down) throws, so BullMQ retries the attempt with backoff and it resumes from its checkpoints.
 */
export function createJobRunHandler(deps: JobRunDeps): RunHandler {
  const { db } = deps;
  const backstopMs = deps.cancelBackstopMs ?? CANCEL_BACKSTOP_MS;

  return async (bullJob: BullJob, ctx: RunContext) => {
    const { job_id } = parsePayload('job.run', bullJob.data);
    if (ctx.stalledOut) {
      // Its worker died or hung every time it ran this job: do not run it a fourth time.
      const failed = await finishJob(db, job_id, { status: 'failed', error: { code: 'internal', message: 'The job was interrupted repeatedly while running (its worker stopped each time); it was not run again.' } });
      deps.logger.warn({ job_id, tenant_id: ctx.tenantId, reason: ctx.stalledOut, recorded: Boolean(failed) }, 'job failed after repeated stalls');
      throw new UnrecoverableError(ctx.stalledOut);
    }
    const job = await startAttempt(db, job_id);
    if (!job) return { skipped: 'terminal_or_missing' };
    const log = deps.logger.child({ tenant_id: job.tenant_id, job_id: job.id, attempt: job.attempts });
    log.debug({ type: job.type }, 'job attempt started');

    // Jobs that can never succeed finish as failed at once, without spending retries.
    const tenant = await deps.tenants.get(job.tenant_id);
    if (!tenant || tenant.disabled) {
      await finishJob(db, job.id, { status: 'failed', error: { code: 'tenant_disabled', message: 'The tenant is disabled or gone.' } });
      return { status: 'failed' };
    }
    const invalid = validationProblem(job);
    if (invalid) {
      await finishJob(db, job.id, { status: 'failed', error: { code: 'validation_failed', message: invalid } });
      return { status: 'failed' };
    }

    // Wall clock counts from the first start, so retries cannot extend a job past its timeout.
    const elapsed = Date.now() - (job.started_at ?? new Date()).getTime();
    const timeout = AbortSignal.timeout(Math.max(1, deps.jobTimeoutMs - elapsed));
    const signal = AbortSignal.any([ctx.signal, timeout]);

    // A cancel request normally arrives as the pub/sub signal (ctx.signal, reason code
    // `cancelled`). The row is the backstop for a missed message: startAttempt has just read it,
    // and it is read again before a step only once backstopMs have passed since the last read.
    let cancelRequested = Boolean(job.cancel_requested_at);
    let rowReadAt = Date.now();
    const checkStop = async () => {
      if (ctx.signal.aborted && ctx.signal.reason instanceof ShutdownAbort) throw ctx.signal.reason;
      const signalled = ctx.signal.aborted && (ctx.signal.reason as { code?: string })?.code === 'cancelled';
      if (!signalled && !cancelRequested && Date.now() - rowReadAt >= backstopMs) {
        const current = await getJobById(db, job.id);
        rowReadAt = Date.now();
        cancelRequested = !current || current.status === 'cancelled' || Boolean(current.cancel_requested_at);
      }
      if (signalled || cancelRequested) throw new StopRun({ code: 'cancelled', message: 'Cancelled on request.' }, 'cancelled');
      if (timeout.aborted) throw new StopRun({ code: 'timeout', message: `The job exceeded its ${deps.jobTimeoutMs} ms time limit.` }, 'failed');
      if (ctx.signal.aborted) throw ctx.signal.reason;
    };

    // A workflow step's checkpoint is held until the next step starts (then written alone) or the
    // attempt ends (then written by the finish statement, or alone before a retry): no call
    // starts, and no attempt ends, before the previous step is stored, and the last step costs no
    // commit of its own.
    let held: Checkpoint | undefined;
    const writeHeld = async () => {
      if (!held) return;
      await writeCheckpoint(db, held);
      held = undefined;
    };
    const finish = async (f: FinishJob) => {
      const finished = await finishJob(db, job.id, f, held);
      held = undefined;
      return finished;
    };
    /** Before an attempt ends by throwing: store the held step; its own failure must not hide the reason. */
    const releaseHeld = () => writeHeld().catch((e: Error) => log.warn({ err: { message: e.message } }, 'could not store the last step before retrying'));
    const heldSteps = { hold: (c: Checkpoint) => void (held = c), writeHeld };

    const servers = job.servers.filter((s) => tenant.servers.includes(s));
    const session: Session = deps.runtime.sessions.create({ tenantId: job.tenant_id, environment: job.environment, servers, metadata: job.metadata });
    try {
      let outcome: Outcome;
      try {
        outcome = job.type === 'workflow' ? await runWorkflowJob(job, session, signal, checkStop, ctx.attemptsMade + 1 < ctx.maxAttempts, heldSteps) : await runAgentJob(job, tenant, session, signal, checkStop);
      } catch (err) {
        // An abort (cancel, timeout, lost lock, shutdown) surfaces from inside a model or tool call
        // as an AbortError; checkStop turns it into the reason it happened.
        if (signal.aborted && !(err instanceof StopRun)) await checkStop();
        throw err;
      }
      // A cancel or timeout that landed during the last call still wins over its result.
      if (signal.aborted) await checkStop();
      const finished = await finish(outcome);
      log.info({ status: finished?.status ?? 'already_terminal' }, 'job attempt finished');
      return { status: finished?.status ?? 'already_terminal' };
    } catch (err) {
      if (err instanceof StopRun) {
        await finish({ status: err.status, error: err.jobError });
        log.info({ status: err.status, code: err.jobError.code }, 'job stopped');
        return { status: err.status };
      }
      // Handed back (shutdown) or taken over (lost lock): another run continues the job; never record
      // it failed here, but store the step it already completed so that run does not redo it.
      if (err instanceof ShutdownAbort || err instanceof LockLost) {
        await releaseHeld();
        throw err;
      }
      if (err instanceof QuotaExceededError) {
        // The runtime refused the next tool call before making it: the month's quota is spent.
        await finish({ status: 'failed', error: { code: 'quota_exceeded', message: err.message } });
        log.info({ code: 'quota_exceeded' }, 'job stopped');
        return { status: 'failed' };
      }
      const lastAttempt = ctx.attemptsMade + 1 >= ctx.maxAttempts;
      if (isModelError(err)) {
        // The provider's message is already scrubbed of keys; retry only what a later attempt could fix.
        log.warn({ retryable: err.retryable, status: err.status, provider_code: err.providerCode }, 'model call failed');
        if (!err.retryable || lastAttempt) {
          await finish({ status: 'failed', error: { code: 'model_error', message: err.message } });
          return { status: 'failed' };
        }
        await releaseHeld();
        throw err;
      }
      // Infrastructure trouble: let BullMQ retry; on the last attempt record the failure for good.
      log.warn({ err: { message: (err as Error).message, abort: isAbortError(err) } }, 'job attempt failed');
      if (lastAttempt) {
        await finish({ status: 'failed', error: { code: 'internal', message: 'The job failed after its retries.' } }).catch(() => releaseHeld());
        throw new UnrecoverableError('attempts exhausted');
      }
      await releaseHeld();
      throw err;
    } finally {
      await session.close();
    }
  };

  async function runWorkflowJob(
    job: Job,
    session: Session,
    signal: AbortSignal,
    checkStop: () => Promise<void>,
    canRetry: boolean,
    steps: { hold(c: Checkpoint): void; writeHeld(): Promise<void> },
  ): Promise<Outcome> {
    const completed = new Map<number, WorkflowStepOutcome>();
    // Only an earlier attempt (job.attempts counts this one) can have left checkpoints.
    if (job.attempts > 1) for (const s of await listSteps(db, job.id)) if (s.kind === 'workflow_step') completed.set(s.seq, s.payload as WorkflowStepOutcome);

    const result = await runWorkflow(job.steps ?? [], {
      completed,
      beforeStep: async () => {
        await steps.writeHeld();
        await checkStop();
      },
      execute: (i, tool, args) => session.execute(tool, args, { idempotencyKey: `${job.id}:${i}`, signal }),
      checkpoint: async (i, outcome, res) => {
        const rec = res ? deps.takeRecord(res.tool_call_id) : undefined;
        // A call cut off by our own abort (shutdown deadline, cancel, timeout) is not a result: never
        // checkpoint it, or a resumed attempt would replay it as a failed step.
        if (signal.aborted) await checkStop();
        // The provider could not be reached (nothing happened there): while attempts remain this is
        // transient, so the step is not recorded and the attempt retries with backoff; the last
        // attempt records it as the step's failure.
        if (res && res.error_code === 'connection_failed' && canRetry) throw new ProviderUnreachable(outcome.error?.message ?? 'provider unreachable');
        steps.hold({
          jobId: job.id,
          seq: i,
          kind: 'workflow_step',
          payload: outcome,
          usage: rec && res ? [usageRowFromRecord(job, i, rec, res)] : [],
        });
      },
      // An automation's job carries its triggering event: `{{event...}}` references read it.
    }, (job.context ?? {}) as Record<string, unknown>);
    return result.ok ? { status: 'succeeded', output: result.output } : { status: 'failed', output: result.output, error: result.error };
  }

  async function runAgentJob(job: Job, tenant: Tenant, session: Session, signal: AbortSignal, checkStop: () => Promise<void>): Promise<Outcome> {
    const result = await runAgentLoop({
      model: deps.model(job.tenant_id),
      modelName: job.model ?? deps.defaultModel,
      session,
      systemPrompt: buildSystemPrompt(tenant.instructions),
      input: job.input ?? '',
      maxIterations: maxIterationsFor(job, tenant),
      tokenBudget: deps.jobTokenBudget,
      checkpoints: createAgentCheckpoints(job, { db, takeRecord: deps.takeRecord }),
      idempotencyKey: (seq) => `${job.id}:${seq}`,
      signal,
      beforeStep: checkStop,
    });
    return result.ok ? { status: 'succeeded', output: { message: result.message } } : { status: 'failed', error: result.error };
  }
}

/** What makes a stored job unrunnable whatever the retries (the API validates too; rows can come from elsewhere). */
function validationProblem(job: Job): string | null {
  if (job.type === 'agent' && !job.input?.trim()) return 'An agent job needs a non-empty input.';
  if (job.type === 'workflow' && !job.steps?.length) return 'A workflow job needs at least one step.';
  return null;
}
