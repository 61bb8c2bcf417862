import type { Db } from '@agents/db';
import type { Metrics } from '@agents/observability';
import type { Producer } from '@agents/queue';
import { listTenantIds } from './tenant-ids';

export interface QueueDepthOptions {
  db: Db;
  producer: Producer;
  metrics: Metrics;
  /** Samples younger than this are reused, so N scrapers cost one sample per period (ms). */
  ttlMs?: number;
  /** Tenant queues read at once (one small Redis round trip each). */
  concurrency?: number;
}

/**
 * Sets `agents_queue_jobs{tenant,state}` from the tenant queues at scrape time. Cost is bounded:
 * one count per enabled tenant at most once per ttlMs (default 5 s), `concurrency` at a time;
 * tenants past the label cap add into tenant="_other".
 */
export function createQueueDepthSampler(opts: QueueDepthOptions): () => Promise<void> {
  const ttlMs = opts.ttlMs ?? 5_000;
  const concurrency = opts.concurrency ?? 50;
  let sampledAt = 0;
  let inFlight: Promise<void> | undefined;

  async function sample(): Promise<void> {
    const ids = await listTenantIds(opts.db, { includeDisabled: false });
    const totals = new Map<string, { waiting: number; active: number; failed: number }>();
    for (let i = 0; i < ids.length; i += concurrency) {
      const batch = ids.slice(i, i + concurrency);
      const counts = await Promise.all(
        batch.map((tid) => opts.producer.tenantQueue(tid).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed')),
      );
      batch.forEach((tid, j) => {
        const c = counts[j]!;
        const label = opts.metrics.tenant(tid);
        const t = totals.get(label) ?? { waiting: 0, active: 0, failed: 0 };
        t.waiting += (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0);
        t.active += c.active ?? 0;
        t.failed += c.failed ?? 0;
        totals.set(label, t);
      });
    }
    opts.metrics.queueJobs.reset();
    for (const [tenant, t] of totals) {
      opts.metrics.queueJobs.set({ tenant, state: 'waiting' }, t.waiting);
      opts.metrics.queueJobs.set({ tenant, state: 'active' }, t.active);
      opts.metrics.queueJobs.set({ tenant, state: 'failed' }, t.failed);
    }
    sampledAt = Date.now();
  }

  return () => {
    if (Date.now() - sampledAt < ttlMs) return Promise.resolve();
    inFlight ??= sample().finally(() => (inFlight = undefined));
    return inFlight;
  };
}
