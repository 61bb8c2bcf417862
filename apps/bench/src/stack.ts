import { randomBytes } from 'node:crypto';
import { createDb, ensureDatabase, migrate, MIGRATIONS } from '@agents/db';
import type { Db } from '@agents/db';
import { createSandboxServer } from '@agents/sandbox';
import type { SandboxServer } from '@agents/sandbox';
import { silentLogger } from '@agents/observability';
import {
  configEnv,
  dropDatabase,
  flushPrefix,
  isoDateFromNow,
  sparePort,
  testConfig,
  TEST_OPERATOR_KEY,
  TEST_PG_BASE,
  TEST_REDIS_IS_CLUSTER,
  TEST_REDIS_URL,
  waitPort,
} from '@agents/testkit';
import { appEntry, ensureBundles, helperEntry } from './bundles';
import { spawnEntry } from './child-process';
import type { ManagedChild } from './child-process';
import { startThrowawayPostgres } from './throwaway-postgres';
import type { ThrowawayPostgres } from './throwaway-postgres';
import { startThrowawayRedis } from './throwaway-redis';
import type { ThrowawayRedis } from './throwaway-redis';
import { startThrowawayRedisCluster } from './throwaway-redis-cluster';
import type { ThrowawayRedisCluster } from './throwaway-redis-cluster';

export interface StackOptions {
  label: string;
  tenants: number;
  workers: number;
  /** Concurrent jobs per worker process. */
  workerSlots?: number;
  /** Delay of every sandbox tool call (ms), so jobs last long enough to be interrupted. */
  callLatencyMs?: number;
  /** A private Postgres cluster (needed by drills that stop Postgres); else a throwaway database on the machine's server. */
  ownPostgres?: boolean;
  /** Run the sandbox as its own process (apps/sandbox/src/main.ts) instead of in this one: benchmarks account its CPU. */
  sandboxProcess?: boolean;
  /**
   * A private 3-master + 3-replica Redis Cluster instead of one redis-server (the failover drill
   * crashes its masters). Without it, a stack runs on the cluster TEST_REDIS_URL names when that is
   * one (`.ci/run`'s cluster pass; its own REDIS_PREFIX there), else on a private redis-server.
   */
  redisCluster?: boolean;
  /** Extra environment for the api and worker processes (config variables). */
  env?: Record<string, string>;
  /** Node options of the worker processes (profiling: `--cpu-prof`). */
  workerNodeArgs?: string[];
  /** Node options of the API process (profiling: `--cpu-prof`). */
  apiNodeArgs?: string[];
  /** Extra `-c name=value` settings of the private Postgres cluster (profiling: pg_stat_statements). */
  postgresSettings?: string[];
  /**
   * Run the built bundles (apps/<app>/dist/main.js, built once per process at the first stack; see
   * bundles.ts) under plain Node, as they ship: every benchmark does. Without it the processes run
   * from TypeScript source under tsx (the drills, which are tests).
   */
  bundles?: boolean;
}

export interface Stack {
  db: Db;
  dbUrl: string;
  /** REDIS_URL of the api and workers: `redis` below, `cluster` below, or TEST_REDIS_URL's cluster. */
  redisUrl: string;
  /** The stack's own redis-server, when it runs on one (stopped and started by the outage drill). */
  redis?: ThrowawayRedis;
  /** The stack's own Redis Cluster, when asked for (`redisCluster`). */
  cluster?: ThrowawayRedisCluster;
  /** REDIS_PREFIX of the api and workers (the BullMQ keys live under it). */
  redisPrefix: string;
  postgres?: ThrowawayPostgres;
  sandbox: Pick<SandboxServer, 'url'>;
  /** The sandbox's own process when `sandboxProcess` was asked for. */
  sandboxChild?: ManagedChild;
  apiUrl: string;
  api: ManagedChild;
  workers: ManagedChild[];
  tenants: string[];
  /** Whether the processes run the built bundles (`bundles`), and the line saying what ran. */
  bundles: boolean;
  runs: string;
  /** The sandbox account (asaas api key) of a tenant: where its side effects are recorded. */
  accountOf(tenant: string): string;
  restartApi(): Promise<void>;
  spawnWorker(): ManagedChild;
  /** Stops the sandbox (provider outage) or starts it again on the same port. */
  stopSandbox(): Promise<void>;
  startSandbox(): Promise<void>;
  close(): Promise<void>;
}

export const OPERATOR_KEY = TEST_OPERATOR_KEY;

/**
 * A two-step workflow with real side effects at the provider (a customer, then its Pix charge),
 * followed by `extraCalls` balance reads: more tool calls per job at the same per-job cost, so a
 * benchmark can tell what a job costs from what each of its tool calls does.
 */
export function workflowBody(tag: string, extraCalls = 0) {
  return {
    type: 'workflow',
    metadata: { order_id: tag },
    steps: [
      { tool: 'asaas/create_customer', args: { name: `Cliente ${tag}`, cpfCnpj: '52998224725' } },
      { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 50, dueDate: isoDateFromNow(7) } },
      ...Array.from({ length: extraCalls }, () => ({ tool: 'asaas/get_balance', args: {} })),
    ],
  };
}

async function waitHealthy(url: string, child: ManagedChild, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!child.alive()) throw new Error(`api exited: ${child.stderr()}`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`api at ${url} not healthy within ${timeoutMs} ms`);
}

/**
 * The whole system for one drill or benchmark: its own Redis server, its own database (or Postgres
 * cluster), the sandbox in this process (or its own), the API and N workers as child processes configured by environment
 * only, and `tenants` tenants each with their own sandbox account.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const bundles = opts.bundles ?? false;
  const runs = bundles ? ensureBundles() : `TypeScript source under tsx (node --import tsx), Node ${process.version}`;
  const cluster = opts.redisCluster ? await startThrowawayRedisCluster() : undefined;
  const redis = cluster || TEST_REDIS_IS_CLUSTER ? undefined : await startThrowawayRedis();
  const redisUrl = cluster?.url ?? redis?.url ?? TEST_REDIS_URL;
  // On a shared cluster, a namespace of its own (cleared on close).
  const redisPrefix = redis || cluster ? `drill-${opts.label}` : `drill-${opts.label}-${randomBytes(4).toString('hex')}`;
  const closeRedis = async () => {
    if (redis) await redis.destroy();
    else if (cluster) await cluster.destroy();
    else await flushPrefix(redisPrefix, redisUrl);
  };
  const postgres = opts.ownPostgres ? await startThrowawayPostgres({ settings: opts.postgresSettings }) : undefined;
  const dbName = `drill_${opts.label}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const pgBase = postgres?.baseUrl ?? TEST_PG_BASE;
  const dbUrl = `${pgBase}/${dbName}`;
  await ensureDatabase(dbUrl);
  await migrate(dbUrl, MIGRATIONS);
  const db = createDb({ url: dbUrl, max: 5 });
  const sandboxPort = await sparePort();
  let sandboxChild: ManagedChild | undefined;
  const startSandboxHere = async (): Promise<Pick<SandboxServer, 'url' | 'close'>> => {
    if (!opts.sandboxProcess) return createSandboxServer({ port: sandboxPort, logger: silentLogger(), callLatencyMs: opts.callLatencyMs });
    // The product's entry point has no per-call latency setting; a stack that asks for one gets the bench's.
    const child = opts.callLatencyMs
      ? spawnEntry(helperEntry('latency-sandbox-main', bundles), {}, [String(sandboxPort), String(opts.callLatencyMs)])
      : spawnEntry(appEntry('sandbox', bundles), { SANDBOX_PORT: String(sandboxPort), LOG_LEVEL: 'warn' });
    sandboxChild = child;
    await waitPort(sandboxPort, true, 30_000);
    return { url: `http://127.0.0.1:${sandboxPort}`, close: () => child.stop('SIGTERM') };
  };
  let sandbox = await startSandboxHere();
  const apiPort = await sparePort();
  const config = testConfig({
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    SANDBOX_URL: sandbox.url,
    WORKER_SLOTS: String(opts.workerSlots ?? 16),
    // Short lock and stall check: a killed worker's jobs are recovered within seconds.
    JOB_LOCK_MS: '2000',
    STALLED_CHECK_MS: '1000',
    // info: the workers' "worker started" line tells the stack they are up.
    LOG_LEVEL: 'info',
    ...opts.env,
  });
  const env: Record<string, string> = {
    ...configEnv(config),
    PORT: String(apiPort),
    DATABASE_POOL_MAX: '20',
    SHUTDOWN_GRACE_MS: '1000',
    WORKER_METRICS_PORT: '0',
    ...opts.env,
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const startApiChild = async () => {
    const child = spawnEntry(appEntry('api', bundles), env, [], opts.apiNodeArgs);
    await waitHealthy(apiUrl, child);
    return child;
  };
  const workers: ManagedChild[] = [];
  const spawnWorker = () => {
    const w = spawnEntry(appEntry('worker', bundles), env, [], opts.workerNodeArgs);
    workers.push(w);
    return w;
  };
  let api: ManagedChild | undefined;
  const all: ManagedChild[] = [];
  try {
    api = await startApiChild();
    all.push(api);
    for (let i = 0; i < opts.workers; i++) spawnWorker();
    // A drill starts on a running system: every worker has connected and taken its slots.
    await Promise.all(workers.map((w) => w.waitForOutput(/worker started/, 30_000)));
    const tenants = Array.from({ length: opts.tenants }, (_, i) => `t${String(i + 1).padStart(3, '0')}`);
    const headers = { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' };
    for (const id of tenants) {
      const t = await fetch(`${apiUrl}/v1/admin/tenants`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ id, servers: ['asaas'], limits: { concurrency: 1000, requests_per_minute: 1_000_000, monthly_tool_calls: 1_000_000_000 } }),
      });
      if (t.status !== 201) throw new Error(`tenant ${id}: ${t.status} ${await t.text()}`);
      const c = await fetch(`${apiUrl}/v1/tenants/${id}/credentials/asaas?environment=live`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ values: { api_key: `aact_drill_${id}` } }),
      });
      if (c.status !== 204) throw new Error(`credentials ${id}: ${c.status} ${await c.text()}`);
    }
    const stack: Stack = {
      db,
      dbUrl,
      redisUrl,
      redis,
      cluster,
      redisPrefix: config.redisPrefix,
      postgres,
      get sandbox() {
        return sandbox;
      },
      apiUrl,
      get api() {
        return api!;
      },
      workers,
      tenants,
      bundles,
      runs,
      accountOf: (tenant) => `aact_drill_${tenant}`,
      async restartApi() {
        await api!.stop('SIGKILL');
        api = await startApiChild();
        all.push(api);
      },
      spawnWorker,
      async stopSandbox() {
        await sandbox.close();
        await waitPort(sandboxPort, false);
      },
      async startSandbox() {
        sandbox = await startSandboxHere();
      },
      sandboxChild,
      async close() {
        await Promise.all([...all, ...workers].map((c) => c.stop('SIGKILL')));
        await sandbox.close().catch(() => undefined);
        await db.destroy();
        if (postgres) await postgres.destroy();
        else await dropDatabase(dbName);
        await closeRedis();
      },
    };
    return stack;
  } catch (err) {
    await Promise.all([...all, ...workers].map((c) => c.stop('SIGKILL')));
    await sandbox.close().catch(() => undefined);
    await db.destroy();
    if (postgres) await postgres.destroy();
    else await dropDatabase(dbName).catch(() => undefined);
    await closeRedis();
    throw err;
  }
}
