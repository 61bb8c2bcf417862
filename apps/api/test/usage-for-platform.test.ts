/**
 * GET /v1/usage, the seed's billing cron: workflow jobs of three tenants in both environments are
 * submitted with platform keys and run on a real worker against the sandbox; the cron's own
 * reduce over every page of /v1/usage then gives each tenant's exact count, in the key's
 * environment only. Calls that share one instant (written by the worker's usage-row query) page
 * without a repeat or a gap. The api and worker logs are captured and searched for the keys.
 */
import { Writable } from 'node:stream';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { startWorker } from '@agents/worker';
import { newId, writeUsageRows } from '@agents/db';
import type { NewUsageEvent } from '@agents/db';
import { createLogger } from '@agents/observability';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, HttpResult, TestStack } from '@agents/testkit';

jest.setTimeout(90_000);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let op: ApiCall;
const logLines: string[] = [];
const responses: string[] = [];
const keys = { live: '', test: '' };
let tenantKey = '';

const A = 'tenant_cron_a';
const B = 'tenant_cron_b';
const C = 'tenant_cron_c';
const balance = { tool: 'asaas/get_balance', args: {} };
const customer = { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725' } };
const missing = { tool: 'asaas/get_payment', args: { id: 'pay_missing' } }; // a failed call
/** Jobs per tenant and environment, each a list of steps (= its tool calls). */
const JOBS: Record<'live' | 'test', Record<string, (typeof balance)[][]>> = {
  live: { [A]: [[customer, balance], [balance, balance], [balance]], [B]: [[balance], [balance]], [C]: [[missing]] },
  test: { [A]: [[balance]], [B]: [[customer, balance]] },
};
/** Calls written at one instant for tenant C (live): more than a page of 2, so a page boundary falls among them. */
const TIED = 5;
let tiedIds: string[] = [];
let since: Date;

const capture = () =>
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });

async function call(method: string, path: string, opts: Parameters<ApiCall>[2] = {}): Promise<HttpResult> {
  const r = await op(method, path, opts);
  responses.push(`${method} ${path} ${r.status} ${r.text}`);
  return r;
}

/** Every page of /v1/usage with this key and query, in order. */
async function allPages(key: string | undefined, query: string, limit: number) {
  const rows: any[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const r = await call('GET', `/v1/usage?${query}&limit=${limit}${after ? `&starting_after=${after}` : ''}`, { key });
    expect(r.status).toBe(200);
    expect(r.body.tool_calls.length).toBeLessThanOrEqual(limit);
    rows.push(...r.body.tool_calls);
    pages++;
    if (!r.body.has_more) break;
    after = r.body.tool_calls[r.body.tool_calls.length - 1].id;
  }
  return { rows, pages };
}

/** The seed's billing snippet, verbatim. */
const perTenant = (data: { tool_calls: { metadata: { tenant_id: string } }[] }) =>
  data.tool_calls.reduce((acc: Record<string, number>, c) => ((acc[c.metadata.tenant_id] = (acc[c.metadata.tenant_id] ?? 0) + 1), acc), {});

const callsOf = (env: 'live' | 'test') => Object.fromEntries(Object.entries(JOBS[env]).map(([t, jobs]) => [t, jobs.flat().length]));

beforeAll(async () => {
  stack = await startTestStack(apps, {
    label: 'usage_platform',
    env: { LOG_LEVEL: 'debug' },
    logger: {
      api: createLogger({ name: 'api', level: 'debug', destination: capture() }),
      worker: createLogger({ name: 'worker', level: 'debug', destination: capture() }),
    },
    worker: { deliverWebhooks: false },
  });
  op = stack.call;
  since = new Date(Date.now() - 3_600_000);
  for (const environment of ['live', 'test'] as const) {
    const k = await op('POST', '/v1/admin/api-keys', { body: { environment } });
    expect(k.status).toBe(201);
    keys[environment] = k.body.key;
  }
  for (const t of [A, B, C]) {
    expect((await call('POST', '/v1/admin/tenants', { body: { id: t, servers: ['asaas'] } })).status).toBe(201);
    // Each platform key stores the tenant's credentials of its own environment.
    for (const environment of ['live', 'test'] as const) {
      const put = await call('PUT', `/v1/tenants/${t}/credentials/asaas`, {
        key: keys[environment],
        body: { values: { api_key: `aact_${t}_${environment}` } },
      });
      expect(put.status).toBe(204);
    }
  }
  const tk = await op('POST', `/v1/admin/tenants/${A}/api-keys`, { body: { environment: 'live' } });
  tenantKey = tk.body.key;

  const submitted: [string, string][] = [];
  await Promise.all(
    (['live', 'test'] as const).flatMap((environment) =>
      Object.entries(JOBS[environment]).flatMap(([t, jobs]) =>
        jobs.map(async (steps, i) => {
          const r = await call('POST', `/v1/tenants/${t}/jobs`, {
            key: keys[environment],
            body: { type: 'workflow', steps, metadata: { order_id: `${t}-${i}` } },
          });
          expect([r.status, r.body.environment]).toEqual([202, environment]);
          submitted.push([t, r.body.id]);
        }),
      ),
    ),
  );
  for (const [t, id] of submitted) {
    await waitFor(
      async () => {
        const r = await op('GET', `/v1/tenants/${t}/jobs/${id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) || undefined;
      },
      { what: `job ${id}`, timeoutMs: 60_000 },
    );
  }

  // Calls of one instant, metered by the query the worker meters with; the last one stored
  // without metadata.tenant_id, as a row from before that was always set could be.
  const at = new Date(Date.now() - 60_000);
  const rows: NewUsageEvent[] = Array.from({ length: TIED }, (_, i) => ({
    id: newId('tc'),
    idempotency_key: `usage-platform-test:${i}`,
    tenant_id: C,
    environment: 'live',
    job_id: null,
    session_id: i % 2 ? `ses_tied_${i}` : null,
    kind: 'tool_call',
    server: 'asaas',
    tool: 'get_balance',
    success: true,
    error_code: null,
    metadata: JSON.stringify(i === TIED - 1 ? {} : { tenant_id: C, batch: 'tied' }),
    occurred_at: at,
  }));
  await writeUsageRows(stack.db, rows);
  tiedIds = rows.map((r) => r.id);
});

afterAll(() => stack?.stop());

test("the seed's billing snippet over every page gives each tenant's exact count, in the key's environment", async () => {
  const live = await allPages(keys.live, `from=${since.toISOString()}`, 2);
  expect(live.pages).toBeGreaterThan(5);
  const expectedLive = callsOf('live');
  expectedLive[C] = (expectedLive[C] ?? 0) + TIED;
  expect(perTenant({ tool_calls: live.rows })).toEqual(expectedLive);
  expect(live.rows.every((c) => c.environment === 'live')).toBe(true);

  const test_ = await allPages(keys.test, `from=${since.toISOString()}`, 1000);
  expect(test_.pages).toBe(1);
  expect(perTenant({ tool_calls: test_.rows })).toEqual(callsOf('test'));

  // The operator sees live unless it names test; the same rows as the platform keys.
  expect((await allPages(undefined, `from=${since.toISOString()}`, 3)).rows.map((c) => c.id)).toEqual(live.rows.map((c) => c.id));
  expect((await allPages(undefined, `from=${since.toISOString()}&environment=test`, 4)).rows.map((c) => c.id)).toEqual(test_.rows.map((c) => c.id));

  // Exactly what the jobs metered: each job-made row is in the database, once.
  const jobRows = await stack.db
    .selectFrom('usage_events')
    .select('id')
    .where('kind', '=', 'tool_call')
    .where('environment', '=', 'live')
    .where('job_id', 'is not', null)
    .execute();
  expect(
    live.rows
      .filter((c) => c.job_id !== null)
      .map((c) => c.id)
      .sort(),
  ).toEqual(jobRows.map((r) => r.id).sort());
});

test('oldest first; calls of one instant page in recording order, none repeated or skipped', async () => {
  for (const limit of [1, 2, 3, 1000]) {
    const { rows } = await allPages(keys.live, `from=${since.toISOString()}`, limit);
    expect(new Set(rows.map((c) => c.id)).size).toBe(rows.length);
    const times = rows.map((c) => Date.parse(c.called_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(rows.filter((c) => tiedIds.includes(c.id)).map((c) => c.id)).toEqual(tiedIds);
  }
});

test('every row has the documented fields; metadata.tenant_id is always the row tenant', async () => {
  const { rows } = await allPages(keys.live, `from=${since.toISOString()}`, 1000);
  for (const c of rows) {
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
    expect(c.metadata.tenant_id).toBe(c.tenant_id);
    if (c.job_id) expect(c.metadata.order_id).toMatch(new RegExp(`^${c.tenant_id}-\\d$`));
  }
  const unlabelled = rows.find((c) => c.id === tiedIds[TIED - 1]);
  expect(unlabelled).toMatchObject({ tenant_id: C, session_id: null, job_id: null, metadata: { tenant_id: C } });
  expect(rows.find((c) => c.id === tiedIds[1])).toMatchObject({ session_id: 'ses_tied_1', metadata: { tenant_id: C, batch: 'tied' } });
  const failed = rows.filter((c) => !c.success);
  expect(failed.map((c) => [c.tenant_id, c.tool, typeof c.error_code])).toEqual([[C, 'get_payment', 'string']]);
});

test('the window: from defaults to the start of the UTC month, to to now; bounds are exact', async () => {
  const before = Date.now();
  const r = await call('GET', '/v1/usage', { key: keys.live });
  expect(r.status).toBe(200);
  const now = new Date();
  expect(r.body.from).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
  expect(Date.parse(r.body.to)).toBeGreaterThanOrEqual(before - 1);
  expect(r.body.has_more).toBe(false);
  const past = await call('GET', '/v1/usage?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z', { key: keys.live });
  expect([past.status, past.body.tool_calls, past.body.from, past.body.to]).toEqual([200, [], '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z']);
  const tiedAt = (await allPages(keys.live, `from=${since.toISOString()}`, 1000)).rows.find((c) => c.id === tiedIds[0])!.called_at;
  const fromTied = await call('GET', `/v1/usage?from=${tiedAt}&to=${new Date(Date.parse(tiedAt) + 1).toISOString()}`, { key: keys.live });
  expect(fromTied.body.tool_calls.map((c: { id: string }) => c.id)).toEqual(tiedIds);
});

test('a tenant key → 403 forbidden; bad queries → 400 validation_failed', async () => {
  const t = await call('GET', '/v1/usage', { key: tenantKey });
  expect([t.status, t.body.code]).toEqual([403, 'forbidden']);
  const testRow = (await allPages(keys.test, `from=${since.toISOString()}`, 1000)).rows[0].id;
  for (const q of [
    'limit=0',
    'limit=1001',
    'limit=ten',
    'from=yesterday',
    'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    'starting_after=tc_nope',
    `starting_after=${newId('tc')}`,
    `starting_after=${testRow}`, // a row of the other environment is no cursor for this key
    'environment=test',
    'tenant_id=tenant_cron_a',
    "starting_after=tc_x'%20OR%201=1--",
    'starting_after=tc_%00',
  ]) {
    const r = await call('GET', `/v1/usage?${q}`, { key: keys.live });
    expect([q, r.status, r.body.code]).toEqual([q, 400, 'validation_failed']);
  }
  expect((await call('GET', '/v1/usage', { key: null })).status).toBe(401);
});

test('no key appears in any log line or response but its 201', async () => {
  expect(logLines.length).toBeGreaterThan(50);
  for (const key of [keys.live, keys.test]) {
    const secretPart = key.slice('csk_live_'.length);
    expect(logLines.filter((l) => l.includes(secretPart))).toEqual([]);
    expect(responses.filter((l) => l.includes(secretPart))).toEqual([]);
  }
});
