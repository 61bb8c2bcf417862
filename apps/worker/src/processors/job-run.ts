import type { Job as BullJob } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { finishJob, getJobById, getTenant, listSteps, startAttempt, writeCheckpoint } from '@agents/db';
import type { Db, Job, JobError, NewUsageEvent } from '@agents/db';
import { parsePayload, ShutdownAbort } from '@agents/queue';
import type { RunContext, RunHandler } from '@agents/queue';
import { runWorkflow } from '@agents/agent';
import type { WorkflowStepOutcome } from '@agents/agent';
import type { Runtime, ToolCallRecord, ToolResult, Session } from '@agents/runtime';
import type { Logger } from '@agents/observability';

export interface JobRunDeps {
  db: Db;
  runtime: Runtime;
  logger: Logger;
  jobTimeoutMs: number;
  /** Takes the runtime's usage record of a finished execute (see createMeterBuffer). */
  takeRecord(toolCallId: string): ToolCallRecord | undefined;
}

/** Why a run stopped early; maps to the job's terminal error. */
class StopRun extends Error {
  constructor(readonly jobError: JobError, readonly status: 'failed' | 'cancelled') {
    super(jobError.message);
  }
}

export function usageRowFromRecord(job: Job, seq: number, rec: ToolCallRecord, result: ToolResult): NewUsageEvent {
  return {
    id: rec.tool_call_id,
    idempotency_key: `${job.id}:${seq}`,
    tenant_id: job.tenant_id,
    environment: job.environment,
    job_id: job.id,
    kind: 'tool_call',
    server: rec.server,
    tool: rec.tool,
    success: rec.success,
    denied: rec.denied,
    error_code: rec.error_code,
    duration_ms: rec.duration_ms,
    metadata: JSON.stringify(rec.metadata),
    occurred_at: result.called_at,
  } as NewUsageEvent;
}

/**
 * The `job.run` processor: one attempt at one job. Terminal outcomes (success, tool failure,
 * cancel, timeout) are written to the job row and the BullMQ job completes; only infrastructure
 * trouble throws, so BullMQ retries the attempt with backoff and it resumes from its checkpoints.
 */
export function createJobRunHandler(deps: JobRunDeps): RunHandler {
  const { db } = deps;

  return async (bullJob: BullJob, ctx: RunContext) => {
    const { job_id } = parsePayload('job.run', bullJob.data);
    const job = await startAttempt(db, job_id);
    if (!job) return { skipped: 'terminal_or_missing' };
    const log = deps.logger.child({ tenant_id: job.tenant_id, job_id: job.id, attempt: job.attempts });
    log.info({ type: job.type }, 'job attempt started');

    const tenant = await getTenant(db, job.tenant_id);
    if (!tenant || tenant.disabled) {
      await finishJob(db, job.id, { status: 'failed', error: { code: 'tenant_disabled', message: 'The tenant is disabled or gone.' } });
      return { status: 'failed' };
    }

    // Wall clock counts from the first start, so retries cannot extend a job past its timeout.
    const elapsed = Date.now() - (job.started_at ?? new Date()).getTime();
    const timeout = AbortSignal.timeout(Math.max(1, deps.jobTimeoutMs - elapsed));
    const signal = AbortSignal.any([ctx.signal, timeout]);

    const checkStop = async () => {
      if (ctx.signal.aborted && ctx.signal.reason instanceof ShutdownAbort) throw ctx.signal.reason;
      const current = await getJobById(db, job.id);
      if (!current || current.status === 'cancelled' || current.cancel_requested_at || (ctx.signal.aborted && (ctx.signal.reason as { code?: string })?.code === 'cancelled')) {
        throw new StopRun({ code: 'cancelled', message: 'Cancelled on request.' }, 'cancelled');
      }
      if (timeout.aborted) throw new StopRun({ code: 'timeout', message: `The job exceeded its ${deps.jobTimeoutMs} ms time limit.` }, 'failed');
      if (ctx.signal.aborted) throw ctx.signal.reason;
    };

    const servers = job.servers.filter((s) => tenant.servers.includes(s));
    const session: Session = deps.runtime.sessions.create({ tenantId: job.tenant_id, environment: job.environment, servers, metadata: job.metadata });
    try {
      if (job.type !== 'workflow') {
        throw new StopRun({ code: 'internal', message: 'Agent jobs are not supported by this worker yet.' }, 'failed');
      }
      const completed = new Map<number, WorkflowStepOutcome>();
      for (const s of await listSteps(db, job.id)) if (s.kind === 'workflow_step') completed.set(s.seq, s.payload as WorkflowStepOutcome);

      const result = await runWorkflow(job.steps ?? [], {
        completed,
        beforeStep: checkStop,
        execute: (i, tool, args) => session.execute(tool, args, { idempotencyKey: `${job.id}:${i}`, signal }),
        checkpoint: async (i, outcome, res) => {
          const rec = res ? deps.takeRecord(res.tool_call_id) : undefined;
          await writeCheckpoint(db, {
            jobId: job.id,
            seq: i,
            kind: 'workflow_step',
            payload: outcome,
            usage: rec && res ? [usageRowFromRecord(job, i, rec, res)] : [],
          });
        },
      });
      // A cancel or timeout that landed during the last call still wins over its result.
      if (signal.aborted) await checkStop();
      const finished = result.ok
        ? await finishJob(db, job.id, { status: 'succeeded', output: result.output })
        : await finishJob(db, job.id, { status: 'failed', output: result.output, error: result.error });
      log.info({ status: finished?.status ?? 'already_terminal' }, 'job attempt finished');
      return { status: finished?.status ?? 'already_terminal' };
    } catch (err) {
      if (err instanceof StopRun) {
        await finishJob(db, job.id, { status: err.status, error: err.jobError });
        log.info({ status: err.status, code: err.jobError.code }, 'job stopped');
        return { status: err.status };
      }
      if (err instanceof ShutdownAbort) throw err;
      // Infrastructure trouble: let BullMQ retry; on the last attempt record the failure for good.
      log.warn({ err: { message: (err as Error).message } }, 'job attempt failed');
      if (ctx.attemptsMade + 1 >= ctx.maxAttempts) {
        await finishJob(db, job.id, { status: 'failed', error: { code: 'internal', message: 'The job failed after its retries.' } }).catch(() => undefined);
        throw new UnrecoverableError('attempts exhausted');
      }
      throw err;
    } finally {
      await session.close();
    }
  };
}
