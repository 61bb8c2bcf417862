import { sql } from 'kysely';
import { reconcileUsage, runRollup } from '@agents/billing';
import type { Db } from '@agents/db';
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
}

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Waits until every accepted job is terminal (or the timeout passes; the rest count as lost). */
export async function waitTerminal(db: Db, ids: Set<string>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'not in', TERMINAL as never).executeTakeFirstOrThrow();
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
export async function audit(stack: Pick<Stack, 'db' | 'sandbox' | 'tenants' | 'accountOf'>, accepted: Set<string>): Promise<DrillCounts> {
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

  return { accepted: accepted.size, completed, failed, lost, duplicated, usageMismatches };
}
