/**
 * Fair scheduling across tenants (issue #6), on the real stack: API → Postgres → per-tenant BullMQ
 * queues → two worker processes (two startWorker instances, each with its own Redis connections)
 * → sandbox MCP with a fixed per-call latency, so every job has a known duration.
 */
import { Redis } from 'ioredis';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { insertTenant } from '@agents/db';
import { createProducer } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, TEST_REDIS_URL, testConfig, testRedisPrefix, waitFor, openTestRedis } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import type { Config } from '@agents/config';
import { startWorker } from '../src/worker';
import type { WorkerProcess } from '../src/worker';

jest.setTimeout(90_000);

const CALL_MS = 150;
let tdb: TestDatabase;
let prefix: string;
let config: Config;
let sandbox: Awaited<ReturnType<typeof createSandboxServer>>;
let api: ApiServer | undefined;
let workers: WorkerProcess[] = [];
let call: ReturnType<typeof apiClient>;

const oneCall = (n: number) => ({
  type: 'workflow',
  servers: ['asaas'],
  steps: [{ tool: 'asaas/create_customer', args: { name: `Customer ${n}`, cpfCnpj: '52998224725' } }],
});

async function createTenant(id: string, concurrency: number) {
  const r = await call('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'], limits: { concurrency, requests_per_minute: 100_000 } } });
  expect(r.status).toBe(201);
  const c = await call('PUT', `/v1/tenants/${id}/credentials/asaas?environment=live`, { body: { values: { api_key: `aact_${id}_key` } } });
  expect(c.status).toBe(204);
}

async function submit(tenant: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await call('POST', `/v1/tenants/${tenant}/jobs`, { body: oneCall(i) });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  return ids;
}

async function allDone(ids: string[]) {
  await waitFor(
    async () => {
      const rows = await tdb.db.selectFrom('jobs').select(['status']).where('id', 'in', ids).execute();
      return rows.every((r) => r.status === 'succeeded') || undefined;
    },
    { what: `${ids.length} jobs to succeed`, timeoutMs: 60_000 },
  );
}

/** Max number of these jobs running at once, from their recorded start/finish times. */
async function maxOverlap(ids: string[]): Promise<number> {
  const rows = await tdb.db.selectFrom('jobs').select(['started_at', 'finished_at']).where('id', 'in', ids).execute();
  const edges: Array<[number, number]> = [];
  for (const r of rows) {
    edges.push([r.started_at!.getTime(), 1]);
    edges.push([r.finished_at!.getTime(), -1]);
  }
  // At equal times a finish comes before a start (intervals are half-open).
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

beforeAll(async () => {
  tdb = await createTestDatabase('fair');
  prefix = testRedisPrefix();
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger(), callLatencyMs: CALL_MS });
  config = testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url, WORKER_SLOTS: '6' });
  const started = await startApi(config, silentLogger(), { port: 0 });
  api = started;
  workers = [await startWorker(config, silentLogger(), { deliverWebhooks: false }), await startWorker(config, silentLogger(), { deliverWebhooks: false })];
  call = apiClient(started.url);
  await createTenant('tenant_capped', 2);
  await createTenant('tenant_flood', 100);
  await createTenant('tenant_quiet', 2);
});

afterAll(async () => {
  for (const w of workers) await w.close(1000);
  await api?.close();
  await sandbox?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test("a tenant's cap holds across two worker processes (12 free slots, cap 2)", async () => {
  const ids = await submit('tenant_capped', 12);
  await allDone(ids);
  const overlap = await maxOverlap(ids);
  expect(overlap).toBeLessThanOrEqual(2);
  expect(overlap).toBe(2);
});

test("a quiet tenant's job starts and finishes while a flood is still queued", async () => {
  // 10 concurrent submitters, so the flood is queued much faster than 12 slots drain it.
  const flood = (await Promise.all(Array.from({ length: 10 }, () => submit('tenant_flood', 20)))).flat();
  const [quiet] = await submit('tenant_quiet', 1);
  await allDone([quiet!, ...flood]);
  const q = await tdb.db.selectFrom('jobs').select(['created_at', 'started_at']).where('id', '=', quiet!).executeTakeFirstOrThrow();
  // Flood jobs queued before the quiet job arrived that were still waiting when it started: with one
  // shared FIFO queue there would be none; the fair dispatcher lets the quiet job pass them.
  const bypassed = await tdb.db
    .selectFrom('jobs')
    .select('id')
    .where('id', 'in', flood)
    .where('created_at', '<', q.created_at)
    .where('started_at', '>', q.started_at!)
    .execute();
  expect(bypassed.length).toBeGreaterThan(0);
  // Work conservation: the flood alone spread over both processes' slots (6 each), never past them.
  const overlap = await maxOverlap(flood);
  expect(overlap).toBeGreaterThan(6);
  expect(overlap).toBeLessThanOrEqual(12);
});

test('a patched cap takes effect without a restart', async () => {
  let r = await call('PATCH', '/v1/admin/tenants/tenant_capped', { body: { limits: { concurrency: 1 } } });
  expect(r.status).toBe(200);
  const one = await submit('tenant_capped', 6);
  await allDone(one);
  expect(await maxOverlap(one)).toBe(1);

  r = await call('PATCH', '/v1/admin/tenants/tenant_capped', { body: { limits: { concurrency: 4 } } });
  expect(r.status).toBe(200);
  const four = await submit('tenant_capped', 16);
  await allDone(four);
  const overlap = await maxOverlap(four);
  expect(overlap).toBeLessThanOrEqual(4);
  expect(overlap).toBeGreaterThan(1);
});

test('1,000 registered idle tenants leave a worker process idle: no Worker objects, no command on any tenant key', async () => {
  // Fresh process view: close the workers that ran the jobs above (their tenants' Workers may still be warm).
  for (const w of workers) await w.close(1000);
  workers = [];
  // Only the worker is under observation: the API's Bull Board refresh (every BULL_BOARD_REFRESH_MS)
  // legitimately reads every tenant queue and would land inside the window when this file runs long.
  const closing = api;
  api = undefined;
  await closing?.close();
  // A Redis namespace of its own: the tests above may leave a tenant in the shared active set (a
  // worker closed between a queue's last finish and its retirement), and a new process's start-up
  // rescan would rightly look at it. Here only the 1,000 idle tenants exist.
  const idlePrefix = testRedisPrefix();
  const idleConfig: Config = { ...config, redisPrefix: idlePrefix };
  const producerRedis = openTestRedis({ maxRetriesPerRequest: null });
  const producer = createProducer({ redis: producerRedis, redisPrefix: idlePrefix, attempts: 1 });
  for (let i = 0; i < 1000; i++) {
    const id = `idle_${String(i).padStart(4, '0')}`;
    await insertTenant(tdb.db, {
      id,
      name: id,
      servers: ['asaas'],
      limits: { concurrency: 2, requests_per_minute: 600, monthly_tool_calls: 1000, max_iterations: 10 },
      plan: { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 },
      instructions: null,
      webhook_url: null,
    } as Parameters<typeof insertTenant>[1]);
    // The queue exists in Redis (its meta hash holds the cap), as for any registered tenant.
    await producer.tenantQueue(id).setGlobalConcurrency(2);
  }
  await producer.close();
  await producerRedis.quit();

  // MONITOR shows one node's commands: this test reads the single Redis (not in the Cluster pass).
  const monitorClient = new Redis(TEST_REDIS_URL);
  const monitor = await monitorClient.monitor();
  const ours: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    const line = args.join(' ');
    if (line.includes(`${idlePrefix}:`)) ours.push(line);
  });
  const worker = await startWorker(idleConfig, silentLogger(), { deliverWebhooks: false });
  workers.push(worker);
  const startupCommands = ours.length;
  // Longer than the dispatcher's rescan period (5 s) and the stalled-check period (2 s here).
  await new Promise((r) => setTimeout(r, 6_000));
  monitor.disconnect();
  monitorClient.disconnect();
  await new Promise((r) => setTimeout(r, 50));
  const steady = ours.slice(startupCommands);
  const onTenantKeys = steady.filter((l) => l.includes(`${idlePrefix}:{t.`));
  expect(worker.stats().knownTenants).toBe(0);
  expect(worker.stats().activeTenants).toBe(0);
  expect(onTenantKeys).toEqual([]);
  // Besides the system queues (billing/webhooks, `{sys}`: a fixed cost whatever the tenant count),
  // only the dispatcher's periodic active-set rescan remains: one SMEMBERS per 5 s.
  const dispatcherHousekeeping = steady.filter((l) => !l.includes(`${idlePrefix}:{sys}`));
  expect(dispatcherHousekeeping.length).toBeLessThanOrEqual(2);
  for (const l of dispatcherHousekeeping) expect(l).toMatch(/^smembers .*:active-tenants$/i);
  await worker.close(1000);
  workers = [];
  await flushPrefix(idlePrefix);
});
