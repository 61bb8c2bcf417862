import type { Job as BullJob } from 'bullmq';
import type { ModelProvider } from '@agents/agent';
import type { JobOutcome, Metrics } from '@agents/observability';
import type { AttemptEnd, DispatchObserver } from '@agents/queue';
import type { ToolCallRecord } from '@agents/runtime';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Maps how an attempt ended (and what the job-run handler returned) to the job outcome label. */
export function jobOutcome(job: BullJob, end: AttemptEnd, result: unknown): JobOutcome {
  if (end === 'handed_back') return 'handed_back';
  // An unrecoverable error (a failed job, see processors/job-run.ts) is not retried by BullMQ.
  if (end === 'failed')
    return (result as Error | undefined)?.name !== 'UnrecoverableError' && job.attemptsMade + 1 < (job.opts.attempts ?? 1) ? 'retried' : 'failed';
  const status = (result as { status?: string } | null | undefined)?.status;
  return status && TERMINAL.has(status) ? (status as JobOutcome) : 'skipped';
}

/** Dispatcher observer: queue wait on a job's first start, run time and outcome of every attempt. */
export function jobMetricsObserver(metrics: Metrics): DispatchObserver {
  // Jobs only: a session's call shares the tenant queues, and the tool-call counters count it.
  const isJob = (job: BullJob) => job.name === 'job.run';
  return {
    started(job, tenantId) {
      if (!isJob(job)) return;
      metrics.jobsRunning.inc();
      // Later attempts would count retry backoff as queue wait; only the first start measures the queue.
      if (job.attemptsMade === 0 && job.processedOn && job.timestamp) {
        metrics.jobQueueWait.observe({ tenant: metrics.tenant(tenantId) }, Math.max(0, job.processedOn - job.timestamp) / 1000);
      }
    },
    finished(job, tenantId, end, runMs, result) {
      if (!isJob(job)) return;
      metrics.jobsRunning.dec();
      const outcome = jobOutcome(job, end, result);
      const tenant = metrics.tenant(tenantId);
      metrics.jobsFinished.inc({ tenant, outcome });
      metrics.jobRunTime.observe({ tenant, outcome }, runMs / 1000);
    },
  };
}

/** The runtime's onToolCall observer: every tool-call record moves the tool-call counters. */
export function countToolCalls(metrics: Metrics): (record: ToolCallRecord) => void {
  return (record) => {
    metrics.toolCalls.inc({ tenant: metrics.tenant(record.tenant_id), server: record.server, success: record.denied ? 'denied' : String(record.success) });
    metrics.toolCallDuration.observe({ server: record.server }, record.duration_ms / 1000);
  };
}

/** A model provider that counts the tokens of every turn it returns. */
export function tokenCountingModel(metrics: Metrics, model: ModelProvider): ModelProvider {
  return {
    id: model.id,
    async complete(req, opts) {
      const turn = await model.complete(req, opts);
      metrics.modelTokens.inc({ model: req.model, direction: 'input' }, turn.usage.inputTokens);
      metrics.modelTokens.inc({ model: req.model, direction: 'output' }, turn.usage.outputTokens);
      return turn;
    },
  };
}
