import type { JobState } from 'bullmq';
import type { Db } from '@agents/db';
import type { Logger } from '@agents/observability';
import type { Producer } from './producer';
import { entryState, entryStateReader } from './bullmq-internals';

export interface ReviveStrandedOptions {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Only rows at least this old are looked at (ms). */
  graceMs: number;
  batch?: number;
}

export interface ReviveStrandedResult {
  /** `failed` entries of non-terminal rows, retried. */
  retried: number;
  /** Entries missing from Redis altogether, added again. */
  readded: number;
  /** Tenants with waiting/delayed/active entries that were missing from the active-tenant set, announced again. */
  reannounced: number;
}

/**
 * The job row is the truth: a row that is still queued/running must have a queue entry that some
 * dispatcher will run. A failed row is never looked at: its failed entry stays failed until an
 * operator retries the job (retryJob in @agents/jobs, or Bull Board's Retry). Looks at the oldest non-terminal rows (those are the ones that can be
 * stuck), `batch` per pass, and repairs their entries:
 * - `failed` while the row is not terminal: the last attempt failed and so did the write marking
 *   the row failed (Postgres outage drill, apps/bench). Retried: the job resumes from its
 *   checkpoints and completed tool calls are not repeated.
 * - no entry at all (Redis lost it): added again (jobId = row id, so a racing add is a no-op).
 * - waiting, delayed or active, but its tenant is missing from the active-tenant set (a worker
 *   killed between removing the tenant and putting it back, see the dispatcher's retireIfDrained):
 *   no dispatcher would fetch it, and for an active entry of a dead worker no stalled check would
 *   run for it, until the tenant's next submission. The tenant is announced again.
 *
 * Every worker process runs this each reconciler pass, and under a backlog the oldest `batch` rows
 * are all waiting: the entries are read in one pipeline (see entryStates) and the tenants put back
 * in one more, so a pass costs the same few round trips for 200 rows as for 2.
 */
export async function reviveStrandedEntries(opts: ReviveStrandedOptions): Promise<ReviveStrandedResult> {
  const rows = await opts.db
    .selectFrom('jobs')
    .select(['id', 'tenant_id'])
    .where('status', 'in', ['queued', 'running'])
    .where('enqueued_at', 'is not', null)
    .where('created_at', '<', new Date(Date.now() - opts.graceMs))
    .orderBy('created_at')
    .limit(opts.batch ?? 200)
    .execute();
  const out: ReviveStrandedResult = { retried: 0, readded: 0, reannounced: 0 };
  const states = await entryStates(opts.producer, rows);
  const pending = new Set<string>();
  for (const [i, row] of rows.entries()) {
    const state = states[i];
    // The rare repairs go one by one; the common case (waiting or active) costs nothing more.
    if (state === 'missing') {
      await opts.producer.enqueueRun({ job_id: row.id, tenant_id: row.tenant_id });
      out.readded++;
    } else if (state === 'failed') {
      // Also the case of an operator's retry (retryJob) that queued the row again and died before it
      // brought the failed entry back.
      const job = await opts.producer.tenantQueue(row.tenant_id).getJob(row.id);
      // Removed since the read: it is missing now, and added again as such.
      if (job) {
        // Its normal attempts again; then announce the tenant as active (enqueueRun: the add is a
        // no-op for an existing job id, the activation is what the fair dispatcher waits for).
        // Refused when the entry left that state meanwhile (retried by someone else): fine.
        await job.retry('failed', { resetAttemptsMade: true }).catch(() => undefined);
        out.retried++;
      } else out.readded++;
      await opts.producer.enqueueRun({ job_id: row.id, tenant_id: row.tenant_id });
    } else if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'active') pending.add(row.tenant_id);
  }
  // Only tenants that had fallen out of the set count: the others are rescanned by every dispatcher.
  // After the repairs above, so a tenant just announced by a re-add does not count again.
  out.reannounced = (await opts.producer.reannounce([...pending])).length;
  if (out.retried) opts.logger.warn({ count: out.retried }, 'retried queue entries that failed while their job row was not terminal');
  if (out.readded) opts.logger.warn({ count: out.readded }, 're-added queue entries missing from Redis for job rows that are not terminal');
  if (out.reannounced) opts.logger.warn({ count: out.reannounced }, 're-announced tenants whose pending jobs no dispatcher was looking at');
  return out;
}

/** What entryStates answers per row: 'missing' when the queue has no such entry, else Job#getState's answer. */
type EntryState = JobState | 'unknown' | 'missing';

/**
 * The entry state of each row, in one pipeline on the producer's shared connection (every tenant
 * queue uses it): per row the two commands of entryStateReader (bullmq-internals.ts). On Redis
 * Cluster a pipeline must stay in one slot and each tenant has its own hash tag: one pipeline per
 * tenant queue, sent together.
 */
async function entryStates(producer: Producer, rows: { id: string; tenant_id: string }[]): Promise<EntryState[]> {
  const byTenant = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const list = byTenant.get(row.tenant_id);
    if (list) list.push(i);
    else byTenant.set(row.tenant_id, [i]);
  });
  if (!byTenant.size) return [];
  const tenants = [...byTenant.keys()];
  const queues = tenants.map((tid) => producer.tenantQueue(tid));
  await Promise.all(queues.map((q) => q.waitUntilReady()));
  const reader = await entryStateReader(queues[0]!);
  const all = tenants.map((_, t) => t);
  const groups = reader.client.isCluster ? all.map((t) => [t]) : [all];
  const out = new Array<EntryState>(rows.length);
  await Promise.all(
    groups.map(async (group) => {
      const pipeline = reader.pipeline();
      const order: number[] = [];
      for (const t of group) {
        const q = queues[t]!;
        for (const i of byTenant.get(tenants[t]!)!) {
          reader.add(pipeline, q, rows[i]!.id);
          order.push(i);
        }
      }
      const replies = await pipeline.exec();
      if (!replies) throw new Error('entry state pipeline aborted');
      order.forEach((i, n) => {
        const [existsErr, exists] = replies[2 * n] ?? [new Error('no reply')];
        const [stateErr, state] = replies[2 * n + 1] ?? [new Error('no reply')];
        if (existsErr || stateErr) throw existsErr ?? stateErr;
        out[i] = entryState(exists, state);
      });
    }),
  );
  return out;
}
