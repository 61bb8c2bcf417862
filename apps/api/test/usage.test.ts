/**
 * Usage and billing over HTTP with the whole stack: N concurrent workflow jobs across tenants and
 * environments run on a real worker (whose billing scheduler rolls up every 200 ms); the usage
 * routes, the raw tool-call log and the invoices then show exactly what the jobs did.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { startWorker } from '@agents/worker';
import { computeInvoice, reconcileUsage } from '@agents/billing';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';

jest.setTimeout(90_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let op: ApiCall;
const keys: Record<string, string> = {};

const PLAN = { currency: 'BRL', base_fee: 10, price_per_tool_call: 0.05, price_per_1k_tokens: 0.02, included_tool_calls: 5 };
const TENANTS = ['tenant_usage_a', 'tenant_usage_b', 'tenant_usage_c'];
// Per tenant: jobs of each shape, per environment. Each job's steps are its tool calls.
const SHAPES = [
  {
    steps: [
      { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725' } },
      { tool: 'asaas/get_balance', args: {} },
    ],
    n: { live: 4, test: 2 },
  },
  { steps: [{ tool: 'asaas/get_balance', args: {} }], n: { live: 3, test: 1 } },
  { steps: [{ tool: 'asaas/get_payment', args: { id: 'pay_missing' } }], n: { live: 2, test: 0 } }, // fails: a failed call
];
const jobIds: string[] = [];

async function terminal(tenant: string, id: string) {
  return waitFor(
    async () => {
      const r = await op('GET', `/v1/tenants/${tenant}/jobs/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { what: `job ${id}`, timeoutMs: 60_000 },
  );
}

beforeAll(async () => {
  stack = await startTestStack(apps, { label: 'usage', env: { BILLING_ROLLUP_EVERY_MS: '200' }, worker: { deliverWebhooks: false } });
  op = stack.call;
  for (const t of TENANTS) {
    expect((await op('POST', '/v1/admin/tenants', { body: { id: t, servers: ['asaas'], plan: PLAN } })).status).toBe(201);
    for (const environment of ['test', 'live'] as const) {
      expect(
        (await op('PUT', `/v1/tenants/${t}/credentials/asaas?environment=${environment}`, { body: { values: { api_key: `aact_${t}_${environment}_key` } } }))
          .status,
      ).toBe(204);
      const k = await op('POST', `/v1/admin/tenants/${t}/api-keys`, { body: { environment } });
      expect(k.status).toBe(201);
      keys[`${t}:${environment}`] = k.body.key;
    }
  }
  // Submit every job at once, across tenants and environments.
  const submissions: Promise<void>[] = [];
  for (const t of TENANTS)
    for (const shape of SHAPES)
      for (const environment of ['live', 'test'] as const)
        for (let i = 0; i < shape.n[environment]; i++)
          submissions.push(
            op('POST', `/v1/tenants/${t}/jobs`, { body: { type: 'workflow', steps: shape.steps, environment, metadata: { order_id: `${t}-${i}` } } }).then(
              (r) => {
                expect(r.status).toBe(202);
                jobIds.push(`${t}:${r.body.id}`);
              },
            ),
          );
  await Promise.all(submissions);
  for (const entry of jobIds) {
    const [t, id] = entry.split(':') as [string, string];
    await terminal(t, id);
  }
});

afterAll(() => stack?.stop());

// Expected per tenant and environment: create_customer 4/2, get_balance 4+3=7 / 2+1=3, get_payment 2/0 (failed).
const EXPECTED = {
  live: { jobs: 9, tool_calls: 13, failed_tool_calls: 2, denied_tool_calls: 0, input_tokens: 0, output_tokens: 0 },
  test: { jobs: 3, tool_calls: 5, failed_tool_calls: 0, denied_tool_calls: 0, input_tokens: 0, output_tokens: 0 },
};

test('the scheduled rollup takes every event once; rollups reconcile with the events', async () => {
  const total = TENANTS.length * (EXPECTED.live.tool_calls + EXPECTED.test.tool_calls);
  await waitFor(
    async () => {
      const s = await stack.db.selectFrom('rollup_state').selectAll().executeTakeFirstOrThrow();
      return Number(s.events_total) === total || undefined;
    },
    { what: 'the billing scheduler to roll up every event', timeoutMs: 30_000 },
  );
  // A window around now (the events were just written), so the test never expires.
  const rec = await reconcileUsage(stack.db, { from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 86_400_000) });
  expect(rec.differences).toEqual([]);
  expect(rec.events).toBe(total);
});

test('GET /v1/tenants/{tid}/usage: exact counts per tenant, server and tool, per environment', async () => {
  for (const t of TENANTS) {
    const live = await op('GET', `/v1/tenants/${t}/usage?environment=live&group_by=tool`);
    expect(live.status).toBe(200);
    expect(live.body.tenant_id).toBe(t);
    expect(live.body.totals).toEqual(EXPECTED.live);
    expect(live.body.buckets.map((b: any) => [b.key, b.tool_calls, b.failed_tool_calls, b.jobs])).toEqual([
      ['asaas/create_customer', 4, 0, 4],
      ['asaas/get_balance', 7, 0, 7],
      ['asaas/get_payment', 2, 2, 2],
    ]);
    const byServer = await op('GET', `/v1/tenants/${t}/usage?environment=test&group_by=server`);
    expect(byServer.body.totals).toEqual(EXPECTED.test);
    expect(byServer.body.buckets).toEqual([{ key: 'asaas', ...EXPECTED.test }]);
    const byDay = await op('GET', `/v1/tenants/${t}/usage?group_by=day`);
    expect(byDay.body.totals.tool_calls).toBe(EXPECTED.live.tool_calls + EXPECTED.test.tool_calls);
    expect(byDay.body.buckets).toHaveLength(1);
    expect(byDay.body.buckets[0].key).toBe(new Date().toISOString().slice(0, 10));
  }
});

test('a tenant key sees only its own environment and its own tenant', async () => {
  const [a, b] = TENANTS as [string, string];
  const own = await op('GET', `/v1/tenants/${a}/usage`, { key: keys[`${a}:test`] });
  expect(own.status).toBe(200);
  expect(own.body.totals).toEqual(EXPECTED.test);
  const other = await op('GET', `/v1/tenants/${a}/usage?environment=live`, { key: keys[`${a}:test`] });
  expect(other.status).toBe(400);
  expect(other.body.error.code).toBe('validation_failed');
  const cross = await op('GET', `/v1/tenants/${b}/usage`, { key: keys[`${a}:live`] });
  expect(cross.status).toBe(404);
  expect(cross.body.error.code).toBe('tenant_not_found');
  for (const path of ['/v1/admin/usage', '/v1/admin/tool-calls', '/v1/admin/invoices']) {
    const r = await op('GET', path, { key: keys[`${a}:live`] });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  }
});

test('GET /v1/admin/usage: one row per tenant; windows are whole hours; bad windows are refused', async () => {
  const r = await op('GET', '/v1/admin/usage?environment=live');
  expect(r.status).toBe(200);
  expect(r.body.data).toEqual(TENANTS.map((tenant_id) => ({ tenant_id, ...EXPECTED.live })));
  expect(new Date(r.body.from).getUTCMinutes()).toBe(0);
  const all = await op('GET', '/v1/admin/usage');
  expect(all.body.data[0].tool_calls).toBe(EXPECTED.live.tool_calls + EXPECTED.test.tool_calls);
  const past = await op('GET', '/v1/admin/usage?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z');
  expect(past.body.data).toEqual([]);
  const bad = await op('GET', '/v1/admin/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('validation_failed');
  expect((await op('GET', '/v1/admin/usage?from=yesterday')).status).toBe(400);
});

test('GET /v1/admin/tool-calls: the raw log, newest first, paginated, with the forwarded metadata', async () => {
  const t = TENANTS[0]!;
  const seen: any[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await op('GET', `/v1/admin/tool-calls?tenant_id=${t}&limit=5${after ? `&starting_after=${after}` : ''}`);
    expect(r.status).toBe(200);
    seen.push(...r.body.data);
    if (!r.body.has_more) break;
    after = r.body.data[r.body.data.length - 1].id;
  }
  expect(seen).toHaveLength(EXPECTED.live.tool_calls + EXPECTED.test.tool_calls);
  expect(new Set(seen.map((c) => c.id)).size).toBe(seen.length);
  const calledAt = seen.map((c) => c.called_at);
  expect(seen.every((c) => c.id.startsWith('tc_') && c.tenant_id === t)).toBe(true);
  for (const c of seen) {
    expect(Object.keys(c).sort()).toEqual(
      [
        'id',
        'tenant_id',
        'session_id',
        'job_id',
        'environment',
        'server',
        'tool',
        'success',
        'denied',
        'duration_ms',
        'error_code',
        'metadata',
        'called_at',
      ].sort(),
    );
    expect(c.metadata.tenant_id).toBe(t);
    expect(c.metadata.order_id).toMatch(new RegExp(`^${t}-\\d$`));
  }
  const failed = seen.filter((c) => !c.success);
  expect(failed).toHaveLength(EXPECTED.live.failed_tool_calls);
  for (const c of failed) expect(c.error_code).toEqual(expect.any(String));
  expect(calledAt.every((t) => !Number.isNaN(Date.parse(t)))).toBe(true);
  const unknown = await op('GET', '/v1/admin/tool-calls?starting_after=tc_nope');
  expect(unknown.status).toBe(400);
});

test('invoices: live usage only, from the plan, reproducible from the rollups', async () => {
  const period = new Date().toISOString().slice(0, 7);
  const r = await waitFor(
    async () => {
      const res = await op('GET', `/v1/admin/invoices?period=${period}`);
      return res.body.data?.length === TENANTS.length && res.body.data.every((i: any) => i.lines.some((l: any) => l.description.includes('(13 executed)')))
        ? res
        : undefined;
    },
    { what: 'invoices for every tenant', timeoutMs: 30_000 },
  );
  // By hand: base 10.00; (13 − 5) × 0.05 = 0.40; no tokens → 10.40. Test usage is not billed.
  const expected = computeInvoice(PLAN, { tool_calls: 13, input_tokens: 0, output_tokens: 0 });
  expect(expected.total).toBe('10.40');
  for (const inv of r.body.data) {
    expect(inv).toMatchObject({ period, currency: 'BRL', status: 'draft', total: '10.40', lines: expected.lines });
    expect(inv.id).toMatch(/^inv_/);
    expect(Date.parse(inv.usage_through)).not.toBeNaN();
  }
  const t = TENANTS[1]!;
  const own = await op('GET', `/v1/tenants/${t}/invoices`, { key: keys[`${t}:live`] });
  expect(own.status).toBe(200);
  expect(own.body.data).toHaveLength(1);
  expect(own.body.data[0].tenant_id).toBe(t);
  const testKey = await op('GET', `/v1/tenants/${t}/invoices`, { key: keys[`${t}:test`] });
  expect(testKey.body.data).toEqual([]);
  expect((await op('GET', '/v1/admin/invoices?period=2026-13')).status).toBe(400);
});
