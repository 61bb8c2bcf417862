/**
 * usage_events' month partitions under the billing cycle, against a real Postgres: the cycle
 * creates them ahead, a row parked in the default partition is rolled up exactly once whether it
 * moves before or after its rollup, and retention detaches a month only once its invoices are
 * final, leaving every rollup and invoice as it was. The ops CLI runs it as an operator would.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { countDefaultPartitionRows, ensureUsagePartitions, insertTenant, listUsagePartitions, newId, usagePartitionName } from '@agents/db';
import type { TenantPlan } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { detachUsageMonth, listInvoices, listToolCalls, reconcileUsage, runBillingCycle, tenantUsage } from '../src';
import type { DetachUsageMonthOptions } from '../src';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../../..');
// No base fee: an invoice is written only for a month whose live usage a run saw.
const PLAN: TenantPlan = { currency: 'BRL', base_fee: 0, included_tool_calls: 1, price_per_tool_call: 0.5, price_per_1k_tokens: 0 };
const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 1000, max_iterations: 10 };
let tdb: TestDatabase;

function monthStart(delta: number, plusMs = 0): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + delta, 1) + plusMs);
}
const monthOf = (d: Date) => d.toISOString().slice(0, 7);
const OLD = monthOf(monthStart(-3));
const OLDER_NEXT = monthOf(monthStart(-2));

async function insert(n: number, at: Date, tenant = 'tenant_r'): Promise<void> {
  const rows = Array.from({ length: n }, () => {
    const id = newId('tc');
    return {
      id,
      idempotency_key: id,
      tenant_id: tenant,
      environment: 'live',
      kind: 'tool_call',
      server: 'asaas',
      tool: 'create_payment',
      success: true,
      occurred_at: at,
    };
  });
  await tdb.db
    .insertInto('usage_events')
    .values(rows as never)
    .execute();
}

/** A billing cycle once every transaction so far is below snapshot xmin (so it takes every committed event). */
async function cycle(opts: Parameters<typeof runBillingCycle>[1] = {}) {
  for (let i = 0; i < 200; i++) {
    const r = await sql<{ ok: boolean }>`
      SELECT pg_snapshot_xmin(pg_current_snapshot()) > coalesce((SELECT max(txid) FROM usage_events), '0'::xid8) AS ok`.execute(tdb.db);
    if (r.rows[0]!.ok) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return runBillingCycle(tdb.db, { settleMs: 300_000, ...opts });
}

const rolledUp = async () => Number((await sql<{ n: string }>`SELECT coalesce(sum(events), 0) AS n FROM usage_rollups`.execute(tdb.db)).rows[0]!.n);
const detach = (period: string, opts: Partial<DetachUsageMonthOptions> = {}) => detachUsageMonth(tdb.db, { period, settleMs: 300_000, ...opts });

beforeAll(async () => {
  tdb = await createTestDatabase('retention');
  await insertTenant(tdb.db, { id: 'tenant_r', name: 'R', servers: ['asaas'], limits, plan: PLAN, instructions: null, webhook_url: null });
});
afterAll(() => tdb.close());

test('the billing cycle creates the current month and two ahead; events land in their month', async () => {
  // A scheduler running three months ago (this database's partitions start at today's month).
  const first = await cycle({ now: monthStart(-3) });
  expect(first.partitions).toEqual({ created: [-3, -2, -1].map((d) => usagePartitionName(monthOf(monthStart(d)))), deferred: false });
  expect((await cycle({ now: monthStart(-3) })).partitions.created).toEqual([]);
  await insert(3, monthStart(-3, 3_600_000));
  await insert(2, monthStart(-2, 3_600_000));
  const parts = await sql<{ part: string; n: number }>`
    SELECT tableoid::regclass::text AS part, count(*) AS n FROM usage_events GROUP BY 1 ORDER BY 1`.execute(tdb.db);
  expect(parts.rows).toEqual([
    { part: usagePartitionName(OLD), n: 3 },
    { part: usagePartitionName(OLDER_NEXT), n: 2 },
  ]);
});

test('a row in the default partition is counted once, rolled up before its month is created or after', async () => {
  // Both far ahead of every partition: one rolled up while parked, one still pending when it moves.
  await insert(1, monthStart(9, 60_000));
  await cycle();
  await insert(1, monthStart(9, 120_000));
  expect(await countDefaultPartitionRows(tdb.db)).toBe(2);
  const moved = await ensureUsagePartitions(tdb.db, { now: monthStart(9), monthsAhead: 0 });
  expect(moved).toEqual([usagePartitionName(monthOf(monthStart(9)))]);
  expect(await countDefaultPartitionRows(tdb.db)).toBe(0);
  await cycle();
  const events = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM usage_events`.execute(tdb.db)).rows[0]!.n);
  expect(await rolledUp()).toBe(events);
  const rec = await reconcileUsage(tdb.db, { from: monthStart(-3), to: monthStart(10) });
  expect(rec.differences).toEqual([]);
});

test('retention refuses a month that is open, unsettled, not invoiced finally, not rolled up, or unknown', async () => {
  await cycle();
  await expect(detach('2026-1')).rejects.toMatchObject({ code: 'invalid_period' });
  await expect(detach(monthOf(new Date()))).rejects.toMatchObject({ code: 'period_open' });
  await expect(detach(monthOf(monthStart(-20)))).rejects.toMatchObject({ code: 'no_partition' });
  // Settled only once the rollup horizon passes the month's end by the settle time.
  await expect(detach(OLD, { settleMs: 400 * 86_400_000 })).rejects.toMatchObject({ code: 'period_not_settled' });
  // A draft invoice of the month (or an earlier one) means billing is not done with it.
  await sql`INSERT INTO invoices (id, tenant_id, period, currency, status, lines, total, usage_through)
            VALUES ('inv_draft_probe', 'tenant_r', ${monthOf(monthStart(-4))}, 'BRL', 'draft', '[]', 0, now())`.execute(tdb.db);
  await expect(detach(OLD)).rejects.toMatchObject({ code: 'invoices_not_final' });
  await sql`DELETE FROM invoices WHERE id = 'inv_draft_probe'`.execute(tdb.db);
  // A late event of the month committed after the last run: the rollup has not taken it.
  await insert(1, monthStart(-3, 7_200_000));
  await expect(detach(OLD)).rejects.toMatchObject({ code: 'events_not_rolled_up' });
  expect((await listUsagePartitions(tdb.db)).find((p) => p.month === OLD)?.attached).toBe(true);
});

test('retention detaches a settled month: rollups, usage and invoices unchanged, keys released, later rows kept', async () => {
  await cycle();
  const window = { from: monthStart(-3), to: monthStart(-2) };
  const usageBefore = await tenantUsage(tdb.db, { tenantId: 'tenant_r', environment: 'live', ...window, groupBy: 'day' });
  expect(usageBefore.totals.tool_calls).toBe(4);
  const invoicesBefore = await listInvoices(tdb.db, { tenantId: 'tenant_r', period: OLD, limit: 10 });
  // Final since the run that first saw the month's 3 calls ((3 − 1) × 0.50); the late fourth is
  // in the rollups, never in a final invoice.
  expect(invoicesBefore.data.map((i) => [i.status, i.total])).toEqual([['final', '1.00']]);
  const rollupsBefore = await tdb.db
    .selectFrom('usage_rollups')
    .selectAll()
    .orderBy('hour')
    .orderBy('kind')
    .orderBy('tenant_id')
    .orderBy('server')
    .orderBy('tool')
    .execute();

  expect(await detach(OLD)).toEqual({ period: OLD, partition: usagePartitionName(OLD), alreadyDetached: false, keysReleased: 4 });

  expect((await listUsagePartitions(tdb.db)).find((p) => p.month === OLD)).toMatchObject({ attached: false });
  expect(
    await tdb.db.selectFrom('usage_rollups').selectAll().orderBy('hour').orderBy('kind').orderBy('tenant_id').orderBy('server').orderBy('tool').execute(),
  ).toEqual(rollupsBefore);
  expect(await tenantUsage(tdb.db, { tenantId: 'tenant_r', environment: 'live', ...window, groupBy: 'day' })).toEqual(usageBefore);
  expect(await listInvoices(tdb.db, { tenantId: 'tenant_r', period: OLD, limit: 10 })).toEqual(invoicesBefore);
  // The raw log of the month is what goes; the next month's stays.
  expect((await listToolCalls(tdb.db, { tenantId: 'tenant_r', ...window, limit: 10 }))!.data).toEqual([]);
  expect((await listToolCalls(tdb.db, { tenantId: 'tenant_r', from: monthStart(-2), to: monthStart(-1), limit: 10 }))!.data).toHaveLength(2);
  // The detached table keeps its rows until an operator drops it.
  expect((await sql<{ n: string }>`SELECT count(*)::int AS n FROM ${sql.table(usagePartitionName(OLD))}`.execute(tdb.db)).rows[0]!.n).toBe(4);
  expect(
    await tdb.db
      .selectFrom('usage_event_keys')
      .select('id')
      .where('month', '=', `${OLD}-01` as never)
      .execute(),
  ).toEqual([]);

  // A row for the detached month is never refused: it waits in the default partition, rolled up into
  // its hour, and the final invoice stays as it was.
  await insert(1, monthStart(-3, 3_600_000));
  expect(await countDefaultPartitionRows(tdb.db)).toBe(1);
  await cycle();
  expect(await listInvoices(tdb.db, { tenantId: 'tenant_r', period: OLD, limit: 10 })).toEqual(invoicesBefore);
  // Re-running finishes nothing twice.
  expect(await detach(OLD)).toMatchObject({ alreadyDetached: true, keysReleased: 0 });
});

function ops(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'scripts/ops.ts'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: tdb.url, JOB_TIMEOUT_MS: '300000' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

test('ops CLI: partitions list, and detach refused with its code or done', async () => {
  const list = await ops('partitions', 'list', '--json');
  expect(list.code).toBe(0);
  const listed = JSON.parse(list.out) as { default_partition_rows: number; data: { name: string; attached: boolean }[] };
  expect(listed.default_partition_rows).toBe(1);
  expect(listed.data.find((p) => p.name === usagePartitionName(OLD))).toMatchObject({ attached: false });
  expect(listed.data.at(-1)).toMatchObject({ name: 'usage_events_default', attached: true });

  const open = await ops('partitions', 'detach', '--period', monthOf(new Date()));
  expect(open.code).toBe(1);
  expect(open.err).toMatch(/refused \(period_open\)/);
  const missing = await ops('partitions', 'detach');
  expect(missing.err).toMatch(/--period is required/);

  await cycle();
  const done = await ops('partitions', 'detach', '--period', OLDER_NEXT, '--json');
  expect(done.err).toBe('');
  expect(JSON.parse(done.out)).toEqual({ period: OLDER_NEXT, partition: usagePartitionName(OLDER_NEXT), alreadyDetached: false, keysReleased: 2 });
});
