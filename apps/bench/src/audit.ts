import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { reconcileUsage, runRollup } from '@agents/billing';
import type { Db } from '@agents/db';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { openTestRedis } from '@agents/testkit';
import type { Stack } from './stack';

export interface DrillCounts {
  accepted: number;
  completed: number;
  failed: number;
  /** Accepted jobs that have no row or never reached a terminal status. Must be 0. */
  lost: number;
  /** Provider objects created more than once for one idempotency key. Must be 0. */
  duplicated: number;
  /** Successful tool calls without exactly one usage row, usage rows without a step, and rollup ≠ events differences. Must be 0. */
  usageMismatches: number;
  /** For lost jobs (at most 20): the row and the BullMQ entry, one line each, so a failure can be diagnosed after the stack is gone. */
  lostDetails?: string[];
}

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Waits until every accepted job is terminal (or the timeout passes; the rest count as lost). */
export async function waitTerminal(db: Db, ids: Set<string>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'not in', TERMINAL as never)
        .executeTakeFirstOrThrow();
      if (Number(r.n) === 0) {
        const rows = await db.selectFrom('jobs').select('id').execute();
        const have = new Set(rows.map((x) => x.id));
        if ([...ids].every((id) => have.has(id))) return;
      }
    } catch {
      /* the database may be coming back */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The drill invariants, from the system's own records: job rows (Postgres), the provider's
 * objects (sandbox inspection endpoint, per tenant account), checkpoints vs usage_events, and a
 * billing rollup reconciled against the events.
 */
export async function audit(
  stack: Pick<Stack, 'db' | 'sandbox' | 'tenants' | 'accountOf' | 'redisUrl' | 'redisPrefix'>,
  accepted: Set<string>,
): Promise<DrillCounts> {
  const { db } = stack;
  const rows = await db.selectFrom('jobs').select(['id', 'status']).execute();
  const status = new Map(rows.map((r) => [r.id, r.status as string]));
  let lost = 0;
  let completed = 0;
  let failed = 0;
  for (const id of accepted) {
    const s = status.get(id);
    if (!s || !TERMINAL.includes(s)) lost++;
    else if (s === 'succeeded') completed++;
    else failed++;
  }

  let duplicated = 0;
  for (const t of stack.tenants) {
    const res = await fetch(`${stack.sandbox.url}/sandbox/asaas/objects`, { headers: { 'x-sandbox-account': stack.accountOf(t) } });
    const objs = ((await res.json()) as { data: Array<{ idempotency_key: string | null }> }).data;
    const keys = objs.map((o) => o.idempotency_key ?? `none:${Math.random()}`);
    duplicated += keys.length - new Set(keys).size;
  }

  const steps = await db.selectFrom('job_steps').select(['job_id', 'seq', 'payload']).where('kind', '=', 'workflow_step').execute();
  const usage = await db.selectFrom('usage_events').select(['idempotency_key']).where('kind', '=', 'tool_call').execute();
  const usageCount = new Map<string, number>();
  for (const u of usage) usageCount.set(u.idempotency_key, (usageCount.get(u.idempotency_key) ?? 0) + 1);
  const stepKeys = new Set<string>();
  let usageMismatches = 0;
  for (const s of steps) {
    const key = `${s.job_id}:${s.seq}`;
    stepKeys.add(key);
    const ok = (s.payload as { success?: boolean }).success === true;
    const n = usageCount.get(key) ?? 0;
    // A successful call is billed exactly once; a failed one at most once (it may not have reached the provider).
    if (ok ? n !== 1 : n > 1) usageMismatches++;
  }
  for (const key of usageCount.keys()) if (!stepKeys.has(key)) usageMismatches++;

  // Rolled-up events must equal all events once the rollup has caught up. A run only takes events
  // below the oldest transaction still open anywhere (its watermark), so a transaction of a worker
  // that is just finishing can hold the last events back for a moment: run again until it settles.
  let gap = 0;
  for (let i = 0; i < 40; i++) {
    await runRollup(db);
    const total = await sql<{ n: number }>`SELECT count(*)::int AS n FROM usage_events`.execute(db);
    const rolled = await sql<{ n: number }>`SELECT coalesce(sum(events), 0)::int AS n FROM usage_rollups`.execute(db);
    gap = Math.abs(total.rows[0]!.n - rolled.rows[0]!.n);
    if (!gap) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  usageMismatches += gap;
  const rec = await reconcileUsage(db, { from: new Date(Date.now() - 48 * 3600_000), to: new Date(Date.now() + 3600_000) });
  usageMismatches += rec.differences.length;

  const lostIds = [...accepted].filter((id) => !TERMINAL.includes(status.get(id) ?? ''));
  const lostDetails = lostIds.length ? await describeJobs(stack, lostIds.slice(0, 20)) : undefined;
  return { accepted: accepted.size, completed, failed, lost, duplicated, usageMismatches, lostDetails };
}

/**
 * One line per job: its row (status, attempts, ages, checkpoints) and its BullMQ entry (state,
 * attempts made/started, stall count, deferred failure, failed reason, lock holder and TTL), and
 * whether its tenant is in the dispatchers' active set: what is needed to tell which part of the
 * pipeline left it behind. Never throws (a diagnostic must not hide the drill's result).
 */
export async function describeJobs(stack: Pick<Stack, 'db' | 'redisUrl' | 'redisPrefix'>, ids: string[]): Promise<string[]> {
  const redis = openTestRedis({ maxRetriesPerRequest: 1 }, stack.redisUrl);
  const queues = new Map<string, Queue>();
  const out: string[] = [];
  const age = (d: Date | null) => (d ? `${((Date.now() - d.getTime()) / 1000).toFixed(1)}s ago` : '-');
  try {
    const active = new Set(await redis.smembers(coordinationKeys(stack.redisPrefix).activeTenants));
    for (const id of ids) {
      try {
        const row = await stack.db
          .selectFrom('jobs')
          .select(['tenant_id', 'status', 'attempts', 'created_at', 'started_at', 'enqueued_at'])
          .where('id', '=', id)
          .executeTakeFirst();
        if (!row) {
          out.push(`${id}: no row`);
          continue;
        }
        const steps = await stack.db
          .selectFrom('job_steps')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('job_id', '=', id)
          .executeTakeFirstOrThrow();
        const rowText = `row ${row.status} attempts=${row.attempts} created ${age(row.created_at)} started ${age(row.started_at)} enqueued ${age(row.enqueued_at)} steps=${Number(steps.n)}`;
        const prefix = tenantBullPrefix(stack.redisPrefix, row.tenant_id);
        let q = queues.get(row.tenant_id);
        if (!q) {
          q = new Queue(tenantQueueName(row.tenant_id), { connection: redis, prefix });
          queues.set(row.tenant_id, q);
        }
        const job = await q.getJob(id);
        let bull = 'bullmq: no entry';
        if (job) {
          const lockKey = `${prefix}:${tenantQueueName(row.tenant_id)}:${id}:lock`;
          const [lock, lockTtl] = await Promise.all([redis.get(lockKey), redis.pttl(lockKey)]);
          bull =
            `bullmq ${await job.getState()} attemptsMade=${job.attemptsMade} attemptsStarted=${job.attemptsStarted} stalled=${job.stalledCounter}` +
            `${job.deferredFailure ? ` deferredFailure="${job.deferredFailure}"` : ''}${job.failedReason ? ` failedReason="${job.failedReason}"` : ''}` +
            ` delay=${job.delay} processedOn=${job.processedOn ? age(new Date(job.processedOn)) : '-'} lock=${lock ? `held ttl ${lockTtl} ms` : 'none'}`;
        }
        out.push(`${id} (${row.tenant_id}${active.has(row.tenant_id) ? ', tenant active' : ', tenant NOT in active set'}): ${rowText}; ${bull}`);
      } catch (err) {
        out.push(`${id}: could not describe (${(err as Error).message})`);
      }
    }
  } catch (err) {
    out.push(`could not describe jobs (${(err as Error).message})`);
  } finally {
    await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
    redis.disconnect();
  }
  return out;
}
