import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The label value tenants past the cardinality cap share. */
export const OTHER_TENANT = '_other';

export interface MetricsOptions {
  /** Which process this registry describes (`api`, `worker`); added to every series as `process`. */
  process: string;
  /**
   * Distinct `tenant` label values this process will emit (METRICS_MAX_TENANT_LABELS, default 200).
   * The first N tenants seen keep their own series for the life of the process; every later tenant
   * is counted under `tenant="_other"`, so series stay bounded at N+1 per label set however many
   * tenants exist. Restarting the process re-admits tenants in order of first appearance.
   */
  maxTenantLabels: number;
  /** Node process metrics (CPU, memory, event-loop lag, GC); off only for tests that count series. */
  defaultMetrics?: boolean;
}

/** Seconds buckets from 5 ms to 10 min: tool calls sit at the low end, agent jobs at the high end. */
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export type JobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'retried' | 'handed_back';
export type WebhookOutcome = 'delivered' | 'retry_scheduled' | 'failed' | 'gone';
export type RefusalReason = 'rate_limited' | 'quota_exceeded';

/**
 * One prom-client registry per process (never the global one, so an API and a worker built in the
 * same test process do not collide) and the platform's metric definitions. The counters are
 * exported for the code that owns each event to increment; `tenant()` applies the cardinality cap.
 */
export function createMetrics(opts: MetricsOptions) {
  const registry = new Registry();
  registry.setDefaultLabels({ process: opts.process });
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const admitted = new Set<string>();
  /** The label value for a tenant id under the cardinality cap (see MetricsOptions.maxTenantLabels). */
  function tenant(tenantId: string): string {
    if (admitted.has(tenantId)) return tenantId;
    if (admitted.size < opts.maxTenantLabels) {
      admitted.add(tenantId);
      return tenantId;
    }
    return OTHER_TENANT;
  }

  const registers = [registry];
  const metrics = {
    registry,
    tenant,
    jobsSubmitted: new Counter({
      name: 'agents_jobs_submitted_total',
      help: 'Jobs accepted by the API (202), by tenant, type and environment.',
      labelNames: ['tenant', 'type', 'environment'] as const,
      registers,
    }),
    jobsFinished: new Counter({
      name: 'agents_jobs_finished_total',
      help: 'Job attempts that ended in this process, by outcome (succeeded/failed/cancelled are terminal; retried and handed_back go back to the queue).',
      labelNames: ['tenant', 'outcome'] as const,
      registers,
    }),
    jobQueueWait: new Histogram({
      name: 'agents_job_queue_wait_seconds',
      help: 'Time from enqueue to the start of an attempt (seconds).',
      labelNames: ['tenant'] as const,
      buckets: DURATION_BUCKETS_S,
      registers,
    }),
    jobRunTime: new Histogram({
      name: 'agents_job_run_seconds',
      help: 'Wall-clock time of one job attempt in a worker (seconds).',
      labelNames: ['tenant', 'outcome'] as const,
      buckets: DURATION_BUCKETS_S,
      registers,
    }),
    jobsRunning: new Gauge({
      name: 'agents_worker_running_jobs',
      help: 'Jobs this worker process is running now.',
      registers,
    }),
    toolCalls: new Counter({
      name: 'agents_tool_calls_total',
      help: 'Tool calls by server and success (denied = refused inside the runtime, outside the session).',
      labelNames: ['tenant', 'server', 'success'] as const,
      registers,
    }),
    toolCallDuration: new Histogram({
      name: 'agents_tool_call_seconds',
      help: 'Duration of a tool call as metered by the runtime (seconds).',
      labelNames: ['server'] as const,
      buckets: DURATION_BUCKETS_S,
      registers,
    }),
    modelTokens: new Counter({
      name: 'agents_model_tokens_total',
      help: 'Model tokens by model and direction (input/output); per-tenant token totals are in the billing API.',
      labelNames: ['model', 'direction'] as const,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'agents_webhook_deliveries_total',
      help: 'Outbound webhook delivery attempts by outcome.',
      labelNames: ['tenant', 'outcome'] as const,
      registers,
    }),
    refusals: new Counter({
      name: 'agents_refusals_total',
      help: 'Requests or jobs refused by a per-tenant limit (rate_limited, quota_exceeded).',
      labelNames: ['tenant', 'reason'] as const,
      registers,
    }),
    queueJobs: new Gauge({
      name: 'agents_queue_jobs',
      help: 'Jobs per tenant queue by state (waiting includes prioritized and delayed), sampled at scrape time.',
      labelNames: ['tenant', 'state'] as const,
      registers,
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
