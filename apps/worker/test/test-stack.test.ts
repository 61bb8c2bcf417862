/**
 * startTestStack: the whole system for one test file, and nothing left behind by stop() or by a
 * start that fails half-way (the leak-checking environment also fails this file on a leftover
 * connection, server or child).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { createSandboxServer } from '@agents/sandbox';
import type { SandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { createDb } from '@agents/db';
import { startWorker } from '../src/worker';
import { startTestStack, TEST_PG_BASE, TEST_REDIS_URL, openTestRedis } from '@agents/testkit';

jest.setTimeout(60_000);

const apps = { createSandboxServer, startApi, startWorker };

/** A label no earlier run can have used, so leftovers of a crashed run cannot confuse the checks. */
const uniqueLabel = (what: string) => `${what}${randomBytes(4).toString('hex')}`;

/** Databases whose name starts with `<label>_` (how createTestDatabase names them). */
async function databasesLabelled(label: string): Promise<string[]> {
  const admin = createDb({ url: `${TEST_PG_BASE}/postgres`, max: 1 });
  try {
    const r = await sql<{ datname: string }>`SELECT datname FROM pg_database WHERE starts_with(datname, ${`${label}_`})`.execute(admin);
    return r.rows.map((row) => row.datname);
  } finally {
    await admin.destroy();
  }
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

test('a started stack serves, and stop() closes the processes, drops the database and clears the Redis prefix', async () => {
  const label = uniqueLabel('stackok');
  const stack = await startTestStack(apps, { label, worker: { deliverWebhooks: false } });
  const redis = openTestRedis({ maxRetriesPerRequest: 1 });
  try {
    expect((await stack.call('POST', '/v1/admin/tenants', { body: { id: 'tenant_stack', servers: ['asaas'] } })).status).toBe(201);
    expect(await stack.db.selectFrom('tenants').select('id').execute()).toEqual([{ id: 'tenant_stack' }]);
    expect(stack.config.redisPrefix).toBe(stack.prefix);
    expect(stack.config.sandboxUrl).toBe(stack.sandbox.url);
    expect(await databasesLabelled(label)).toHaveLength(1);
    await redis.set(`${stack.prefix}:probe`, '1');
  } finally {
    await stack.stop();
  }
  try {
    expect(await databasesLabelled(label)).toEqual([]);
    expect(await redis.exists(`${stack.prefix}:probe`)).toBe(0);
    expect(await refused(`${stack.api.url}/healthz`)).toBe(true);
    expect(await refused(`${stack.sandbox.url}/`)).toBe(true);
  } finally {
    redis.disconnect();
  }
});

test('a start that fails after the database and sandbox are up stops them before throwing', async () => {
  const label = uniqueLabel('stackfail');
  let sandbox: SandboxServer | undefined;
  const watched = { ...apps, createSandboxServer: async (o: Parameters<typeof createSandboxServer>[0]) => (sandbox = await createSandboxServer(o)) };
  // WORKER_SLOTS must be at least 1: the config is refused after the database and the sandbox exist.
  await expect(startTestStack(watched, { label, env: { WORKER_SLOTS: '0' } })).rejects.toMatchObject({ code: 'config_invalid' });
  expect(sandbox).toBeDefined();
  expect(await refused(`${sandbox!.url}/`)).toBe(true);
  expect(await databasesLabelled(label)).toEqual([]);
});
