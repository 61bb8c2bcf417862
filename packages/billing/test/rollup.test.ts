/**
 * The rollup against a real Postgres: racing runs, concurrent writers, a late commit, test vs live,
 * invoices from rollups, reconciliation. Events are inserted as the checkpoint writes them.
 */
import { Client } from 'pg';
import { newId } from '@agents/db';
import type { Environment, TenantPlan } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { billableUsage, computeInvoice, listInvoices, monthlyToolCalls, reconcileUsage, runBillingCycle, runRollup, tenantUsage } from '../src';

jest.setTimeout(60_000);

let tdb: TestDatabase;
const PLAN: TenantPlan = { currency: 'BRL', base_fee: 49.9, included_tool_calls: 2, price_per_tool_call: 0.05, price_per_1k_tokens: 0.02 };
const FREE: TenantPlan = { currency: 'BRL', base_fee: 0, included_tool_calls: 0, price_per_tool_call: 0.1, price_per_1k_tokens: 0 };

interface Ev {
  tenant: string;
  env?: Environment;
  server?: string;
  tool?: string;
  kind?: 'tool_call' | 'model_turn';
  success?: boolean;
  denied?: boolean;
  at?: Date;
  input?: number;
  output?: number;
}

function row(e: Ev) {
  const id = newId('tc');
  return {
    id,
    idempotency_key: id,
    tenant_id: e.tenant,
    environment: e.env ?? 'live',
    job_id: null,
    kind: e.kind ?? 'tool_call',
    server: e.kind === 'model_turn' ? null : (e.server ?? 'asaas'),
    tool: e.kind === 'model_turn' ? null : (e.tool ?? 'create_payment'),
    success: e.success ?? true,
    denied: e.denied ?? false,
    error_code: e.success === false ? 'provider_error' : null,
    duration_ms: 10,
    input_tokens: e.input ?? 0,
    output_tokens: e.output ?? 0,
    metadata: JSON.stringify({ tenant_id: e.tenant }),
    ...(e.at ? { occurred_at: e.at } : {}),
  } as never;
}

async function insert(events: Ev[]): Promise<void> {
  if (events.length) await tdb.db.insertInto('usage_events').values(events.map(row)).execute();
}

async function rollupTotals() {
  const rows = await tdb.db
    .selectFrom('usage_rollups')
    .select(['tenant_id', 'environment', 'server', 'tool', 'kind'])
    .select((eb) => [eb.fn.sum<string>('events').as('events'), eb.fn.sum<string>('input_tokens').as('input_tokens')])
    .groupBy(['tenant_id', 'environment', 'server', 'tool', 'kind'])
    .execute();
  return Object.fromEntries(rows.map((r) => [`${r.tenant_id}|${r.environment}|${r.kind}|${r.server}/${r.tool}`, Number(r.events)]));
}

/**
 * Rolls up until no committed event is left past the watermark. The watermark is the xmin of a
 * snapshot, which any transaction anywhere in the cluster (other test files) can hold back for a
 * moment; that delays a count, never changes it.
 */
async function settle(run: () => Promise<{ events: number }> = () => runRollup(tdb.db)): Promise<number> {
  let events = 0;
  for (let i = 0; i < 400; i++) {
    events += (await run()).events;
    const pending = await tdb.db
      .selectFrom('usage_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(({ eb, selectFrom }) => eb('txid', '>=', selectFrom('rollup_state').select('watermark').where('id', '=', 1)))
      .executeTakeFirstOrThrow();
    if (Number(pending.n) === 0) return events;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('events stayed past the watermark');
}

// Up to a year from now, not a fixed date: events are written at the current time.
const allTime = { from: new Date('2020-01-01T00:00:00Z'), to: new Date(Date.now() + 366 * 86_400_000) };

beforeAll(async () => {
  tdb = await createTestDatabase('billing');
  for (const [id, plan] of [
    ['tenant_a', PLAN],
    ['tenant_b', FREE],
    ['tenant_c', FREE],
  ] as const) {
    await tdb.db
      .insertInto('tenants')
      .values({
        id,
        name: id,
        servers: ['asaas', 'z-api'],
        limits: JSON.stringify({ concurrency: 4, requests_per_minute: 600, monthly_tool_calls: 100000, max_iterations: 10 }),
        plan: JSON.stringify(plan),
        instructions: null,
        webhook_url: null,
      })
      .execute();
  }
});

afterAll(async () => {
  await tdb?.close();
});

test('concurrent writers and racing rollups: every event counted exactly once per tenant, server and tool', async () => {
  const tenants = ['tenant_a', 'tenant_b', 'tenant_c'];
  const tools = [
    ['asaas', 'create_payment'],
    ['asaas', 'create_customer'],
    ['z-api', 'send_text'],
  ] as const;
  const expected: Record<string, number> = {};
  const writers: Promise<void>[] = [];
  // 3 tenants × 3 tools × 20 writes of 1–3 events, in separate transactions, while rollups race.
  for (const t of tenants)
    for (const [server, tool] of tools)
      for (let i = 0; i < 20; i++) {
        const n = (i % 3) + 1;
        const key = `${t}|live|tool_call|${server}/${tool}`;
        expected[key] = (expected[key] ?? 0) + n;
        writers.push(insert(Array.from({ length: n }, () => ({ tenant: t, server, tool }))));
      }
  const rollups: Promise<unknown>[] = [];
  for (let i = 0; i < 6; i++) rollups.push(runRollup(tdb.db));
  await Promise.all([...writers, ...rollups]);
  const a = runRollup(tdb.db);
  const b = runRollup(tdb.db);
  const [ra, rb] = await Promise.all([a, b]);
  // The two racing runs serialised: between them they took what was left, once.
  expect(ra.fromTxid === rb.toTxid || rb.fromTxid === ra.toTxid).toBe(true);
  await settle();

  expect(await rollupTotals()).toEqual(expected);
  const state = await tdb.db.selectFrom('rollup_state').selectAll().executeTakeFirstOrThrow();
  expect(Number(state.events_total)).toBe(Object.values(expected).reduce((s, n) => s + n, 0));
  const rec = await reconcileUsage(tdb.db, allTime);
  expect(rec.differences).toEqual([]);
  expect(rec.events).toBe(Number(state.events_total));
});

test('two rollup runs racing over the same backlog do not double count', async () => {
  await insert(Array.from({ length: 500 }, (_, i) => ({ tenant: 'tenant_b', server: 'z-api', tool: `race_${i % 5}` })));
  const runs = await Promise.all([runRollup(tdb.db), runRollup(tdb.db), runRollup(tdb.db)]);
  const rest = await settle();
  expect(runs.map((r) => r.events).reduce((s, n) => s + n, 0) + rest).toBe(500);
  expect(runs.filter((r) => r.events > 0).length).toBeLessThanOrEqual(1);
  const totals = await rollupTotals();
  for (let i = 0; i < 5; i++) expect(totals[`tenant_b|live|tool_call|z-api/race_${i}`]).toBe(100);
  expect((await reconcileUsage(tdb.db, allTime)).differences).toEqual([]);
});

test('an event committed late, with an old timestamp, is counted once in the hour it occurred', async () => {
  const late = new Client({ connectionString: tdb.url });
  await late.connect();
  try {
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    const hour = new Date(Math.floor(twoHoursAgo.getTime() / 3_600_000) * 3_600_000);
    await late.query('BEGIN');
    const lateId = newId('tc');
    await late.query(
      `INSERT INTO usage_events (id, idempotency_key, tenant_id, environment, kind, server, tool, success, occurred_at)
       VALUES ($1, $1, 'tenant_c', 'live', 'tool_call', 'asaas', 'late_tool', true, $2)`,
      [lateId, twoHoursAgo],
    );
    // Other work commits after the late transaction started, and is rolled up meanwhile.
    await insert([{ tenant: 'tenant_c', server: 'asaas', tool: 'after_late' }]);
    const first = await runRollup(tdb.db);
    expect((await rollupTotals())['tenant_c|live|tool_call|asaas/late_tool']).toBeUndefined();
    // The horizon cannot pass the open transaction's start: nothing before it is promised complete.
    expect(first.usageThrough.getTime()).toBeLessThanOrEqual(Date.now());
    // Live usage already shows neither twice nor zero for what is committed.
    const live = await tenantUsage(tdb.db, { tenantId: 'tenant_c', ...allTime, groupBy: 'tool' });
    expect(live.buckets.find((b) => b.key === 'asaas/late_tool')).toBeUndefined();
    expect(live.buckets.find((b) => b.key === 'asaas/after_late')?.tool_calls).toBe(1);

    await late.query('COMMIT');
    const liveAfterCommit = await tenantUsage(tdb.db, { tenantId: 'tenant_c', ...allTime, groupBy: 'tool' });
    expect(liveAfterCommit.buckets.find((b) => b.key === 'asaas/late_tool')?.tool_calls).toBe(1); // from the tail
    await settle();
    await runRollup(tdb.db);
    const rows = await tdb.db.selectFrom('usage_rollups').selectAll().where('tool', '=', 'late_tool').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hour.getTime()).toBe(hour.getTime());
    expect(Number(rows[0]!.events)).toBe(1);
    const after = await tenantUsage(tdb.db, { tenantId: 'tenant_c', ...allTime, groupBy: 'tool' });
    expect(after.buckets.find((b) => b.key === 'asaas/late_tool')?.tool_calls).toBe(1); // now from the rollup
    expect((await reconcileUsage(tdb.db, allTime)).differences).toEqual([]);
  } finally {
    await late.end();
  }
});

test('test-environment usage is reported but not billed; invoices match a hand computation', async () => {
  const oct = (d: number, h: number) => new Date(Date.UTC(2026, 9, d, h, 30));
  await insert([
    // October, live: 5 executed calls (1 failed still billed), 1 denied (never billed), tokens in two turns.
    ...Array.from({ length: 4 }, () => ({ tenant: 'tenant_a', server: 'asaas', tool: 'create_payment', at: oct(3, 10) })),
    { tenant: 'tenant_a', server: 'z-api', tool: 'send_text', success: false, at: oct(31, 23) },
    { tenant: 'tenant_a', server: 'stripe', tool: 'create_refund', success: false, denied: true, at: oct(15, 8) },
    { tenant: 'tenant_a', kind: 'model_turn', input: 812_345, output: 0, at: oct(3, 10) },
    { tenant: 'tenant_a', kind: 'model_turn', input: 0, output: 95_678, at: oct(31, 23) },
    // October, test: lots of usage that must never reach an invoice.
    ...Array.from({ length: 7 }, () => ({ tenant: 'tenant_a', env: 'test' as const, server: 'asaas', tool: 'create_payment', at: oct(4, 9) })),
    { tenant: 'tenant_a', env: 'test', kind: 'model_turn', input: 1_000_000, output: 1_000_000, at: oct(4, 9) },
  ]);
  let cycle!: Awaited<ReturnType<typeof runBillingCycle>>;
  expect(await settle(async () => (cycle = await runBillingCycle(tdb.db, { now: new Date(), settleMs: 300_000 })).rollup)).toBe(16);

  // Reported: both environments, each on its own.
  const octWindow = { from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') };
  const live = await tenantUsage(tdb.db, { tenantId: 'tenant_a', environment: 'live', ...octWindow, groupBy: 'server' });
  // Denied calls are counted apart from the executed (billable) ones, per bucket too.
  expect(live.totals).toEqual({ jobs: 0, tool_calls: 5, failed_tool_calls: 1, denied_tool_calls: 1, input_tokens: 812_345, output_tokens: 95_678 });
  expect(live.buckets.map((b) => [b.key, b.tool_calls, b.failed_tool_calls, b.denied_tool_calls])).toEqual([
    ['asaas', 4, 0, 0],
    ['stripe', 0, 0, 1],
    ['z-api', 1, 1, 0],
  ]);
  const test = await tenantUsage(tdb.db, { tenantId: 'tenant_a', environment: 'test', ...octWindow, groupBy: 'day' });
  expect(test.totals).toMatchObject({ tool_calls: 7, input_tokens: 1_000_000, output_tokens: 1_000_000 });
  expect(test.buckets.map((b) => b.key)).toEqual(['2026-10-04']);

  // Billed: live only, denied excluded. By hand, with 2 included calls at 0.05 and 0.02 per 1k tokens:
  //   base fee 49.90; (5 − 2) × 0.05 = 0.15; 908.023 × 0.02 = 18.16046 → 18.16; total 68.21.
  const { data } = await listInvoices(tdb.db, { tenantId: 'tenant_a', period: '2026-10', limit: 10 });
  expect(data).toHaveLength(1);
  const inv = data[0]!;
  expect(inv.status).toBe('final'); // October ended more than the settle margin before this run
  expect(inv.currency).toBe('BRL');
  expect(inv.lines).toEqual([
    { description: 'Base fee', quantity: '1', unit_price: '49.90', amount: '49.90' },
    { description: 'Tool calls beyond 2 included (5 executed)', quantity: '3', unit_price: '0.05', amount: '0.15' },
    { description: 'Model tokens per 1,000 (812345 input + 95678 output)', quantity: '908.023', unit_price: '0.02', amount: '18.16' },
  ]);
  expect(inv.total).toBe('68.21');
  expect(inv.usage_through).toBe(cycle.rollup.usageThrough.toISOString());
  // Reproducible from the rollups alone.
  const usage = (await billableUsage(tdb.db, '2026-10', ['tenant_a'])).get('tenant_a')!;
  expect(computeInvoice(PLAN, usage).total).toBe(inv.total);
  // The usage report and the invoice reconcile: the report's tool_calls are the billed ones.
  expect(usage.tool_calls).toBe(live.totals.tool_calls);

  // A final invoice never changes, even if a (very) late event for its period is rolled up.
  await insert([{ tenant: 'tenant_a', server: 'asaas', tool: 'create_payment', at: oct(20, 12) }]);
  await settle(async () => (await runBillingCycle(tdb.db)).rollup);
  const again = (await listInvoices(tdb.db, { tenantId: 'tenant_a', period: '2026-10', limit: 10 })).data[0]!;
  expect(again).toEqual(inv);

  // The current period: a draft for the base fee alone (tenant_a), and one for each tenant whose
  // live usage a billing run has seen (tenant_c now; earlier events were rolled by bare runRollup).
  await insert([{ tenant: 'tenant_c', server: 'asaas', tool: 'create_payment' }]);
  await settle(async () => (await runBillingCycle(tdb.db)).rollup);
  const current = await listInvoices(tdb.db, { period: new Date().toISOString().slice(0, 7), limit: 10 });
  expect(current.data.map((i) => [i.tenant_id, i.status]).sort()).toEqual([
    ['tenant_a', 'draft'],
    ['tenant_c', 'draft'],
  ]);
  // tenant_a's draft (created for its base fee) also carries the month's rolled-up live calls.
  const aUsage = (await billableUsage(tdb.db, current.data[0]!.period, ['tenant_a'])).get('tenant_a')!;
  expect(current.data.find((i) => i.tenant_id === 'tenant_a')!.total).toBe(computeInvoice(PLAN, aUsage).total);
  // tenant_c: every live call of the month at 0.10, nothing included.
  const c = current.data.find((i) => i.tenant_id === 'tenant_c')!;
  const cCalls = (await billableUsage(tdb.db, c.period, ['tenant_c'])).get('tenant_c')!.tool_calls;
  // First test: 3 tools × (7×1 + 7×2 + 6×3) = 117; then after_late, late_tool and this one.
  const thisMonth = new Date().toISOString().slice(0, 7) === new Date(Date.now() - 2 * 3_600_000).toISOString().slice(0, 7);
  expect(cCalls).toBe(thisMonth ? 120 : 119);
  expect(c.lines[0]).toMatchObject({ quantity: String(cCalls), unit_price: '0.10', amount: (cCalls / 10).toFixed(2) });
  expect(c.total).toBe((cCalls / 10).toFixed(2));
});

test('monthlyToolCalls counts rolled-up and not-yet-rolled calls of the month, per environment', async () => {
  const before = await monthlyToolCalls(tdb.db, 'tenant_b', 'live');
  await insert(Array.from({ length: 3 }, () => ({ tenant: 'tenant_b', server: 'asaas', tool: 'x' })));
  expect(await monthlyToolCalls(tdb.db, 'tenant_b', 'live')).toBe(before + 3);
  await settle();
  expect(await monthlyToolCalls(tdb.db, 'tenant_b', 'live')).toBe(before + 3);
  expect(await monthlyToolCalls(tdb.db, 'tenant_b', 'test')).toBe(0);
  expect(await monthlyToolCalls(tdb.db, 'tenant_b', 'live', new Date('2026-10-15T00:00:00Z'))).toBe(0);
});

test('denied calls are reported apart from the billable ones, before and after they are rolled up', async () => {
  const march = (h: number) => new Date(Date.UTC(2025, 2, 10, h, 15));
  await insert([
    { tenant: 'tenant_b', server: 'asaas', tool: 'create_payment', at: march(9) },
    { tenant: 'tenant_b', server: 'asaas', tool: 'create_payment', success: false, at: march(9) },
    { tenant: 'tenant_b', server: 'asaas', tool: 'create_payment', success: false, denied: true, at: march(9) },
    { tenant: 'tenant_b', server: 'stripe', tool: 'create_refund', success: false, denied: true, at: march(10) },
  ]);
  const window = {
    tenantId: 'tenant_b',
    environment: 'live' as const,
    from: new Date('2025-03-01T00:00:00Z'),
    to: new Date('2025-04-01T00:00:00Z'),
    groupBy: 'tool' as const,
  };
  const expected = {
    totals: { jobs: 0, tool_calls: 2, failed_tool_calls: 1, denied_tool_calls: 2, input_tokens: 0, output_tokens: 0 },
    buckets: [
      { key: 'asaas/create_payment', jobs: 0, tool_calls: 2, failed_tool_calls: 1, denied_tool_calls: 1, input_tokens: 0, output_tokens: 0 },
      { key: 'stripe/create_refund', jobs: 0, tool_calls: 0, failed_tool_calls: 0, denied_tool_calls: 1, input_tokens: 0, output_tokens: 0 },
    ],
  };
  expect(await tenantUsage(tdb.db, window)).toEqual(expected); // from the not-yet-rolled events
  await settle();
  expect(await tenantUsage(tdb.db, window)).toEqual(expected); // from the rollups
  expect((await billableUsage(tdb.db, '2025-03', ['tenant_b'])).get('tenant_b')!.tool_calls).toBe(expected.totals.tool_calls);
});
