/**
 * Pipeline benchmark (issue #11): N two-step workflow jobs across T tenants through the API, two
 * worker processes and the sandbox (each its own process, the built bundles under plain Node), on a private Redis and a private
 * Postgres cluster, so every CPU-second of every process is attributable (/proc). Then, in the
 * same run and on the same servers, the bare costs of the same work: one Express request doing one
 * Postgres insert + one BullMQ add; one BullMQ fetch + complete; two bare MCP tool calls over
 * Streamable HTTP (one connection, reused); and as many single-row Postgres commits as a job made.
 */
import autocannon from 'autocannon';
import { Client } from 'pg';
import { helperEntry } from '../bundles';
import { spawnEntry } from '../child-process';
import type { ManagedChild } from '../child-process';
import { cpuTree } from '../proc-cpu';
import { percentile, runLoad } from '../load';
import type { LoadResult } from '../load';
import { Redis } from 'ioredis';
import { waitTerminal } from '../audit';
import { sparePort, waitPort } from '@agents/testkit';
import { startStack } from '../stack';
import type { Stack } from '../stack';

export interface PipelineBenchOptions {
  jobs: number;
  tenants: number;
  /** Concurrent jobs per worker process. */
  slots: number;
  /** Jobs/calls/requests per bare measurement. */
  bareN: number;
  /** Tool calls per job (≥ 2: the workflow's two, then balance reads; default 2). */
  toolCalls?: number;
}

export interface PipelineBenchResult {
  jobsPerSecond: number;
  cpuPerJobMs: Record<string, number>;
  bareMs: Record<string, number>;
  ratio: number;
}

async function lineOf(child: ManagedChild, re: RegExp, timeoutMs: number): Promise<string> {
  await child.waitForOutput(re, timeoutMs);
  const line = child
    .stderr()
    .split('\n')
    .reverse()
    .find((l) => re.test(l));
  return line ?? '';
}

/** Every pipeline run's stack: api + 2 workers + sandbox as processes (built bundles), a private Postgres cluster. */
function stackShape(o: Pick<PipelineBenchOptions, 'tenants' | 'slots'>) {
  return { tenants: o.tenants, workers: 2, workerSlots: o.slots, ownPostgres: true, sandboxProcess: true, env: { DATABASE_POOL_MAX: '20' }, bundles: true };
}

/** The stack as the benchmark measures it: every process JIT-compiled, every tenant's queue and MCP pool entry created. */
async function warmUp(stack: Stack, tenants: number, extraCalls = 0): Promise<LoadResult> {
  const warm = await runLoad(stack, { jobs: tenants * 2, concurrency: 32, retry: 'same-key', extraCalls });
  await waitTerminal(stack.db, warm.accepted, 120_000);
  return warm;
}

/** `jobs` workflow jobs (two steps + `extraCalls` balance reads) submitted by 32 clients, timed until every accepted one is terminal. */
async function measuredLoad(stack: Stack, jobs: number, extraCalls = 0): Promise<{ load: LoadResult; seconds: number }> {
  const t0 = Date.now();
  const load = await runLoad(stack, { jobs, concurrency: 32, retry: 'same-key', extraCalls });
  await waitTerminal(stack.db, load.accepted, 600_000);
  return { load, seconds: (Date.now() - t0) / 1000 };
}

export async function runPipelineBench(o: PipelineBenchOptions): Promise<PipelineBenchResult> {
  const stack = await startStack({
    label: 'pipeline',
    ...stackShape(o),
  });
  console.log(`pipeline: ${stack.runs}`);
  const calls = Math.max(2, Math.trunc(o.toolCalls ?? 2));
  const pg = stack.postgres!;
  const redisServer = stack.redis!;
  const procs = () => ({
    api: [stack.api.pid],
    workers: stack.workers.map((w) => w.pid),
    sandbox: [stack.sandboxChild!.pid],
    redis: [redisServer.pid()!],
    postgres: [pg.pid()],
  });
  const snap = () => Object.fromEntries(Object.entries(procs()).map(([k, pids]) => [k, pids.reduce((s, p) => s + cpuTree(p), 0)])) as Record<string, number>;
  const commits = async () => {
    const c = new Client({ connectionString: stack.dbUrl });
    await c.connect();
    const r = await c.query(`SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()`);
    await c.end();
    return Number(r.rows[0].n);
  };
  // What a job leaves in Postgres: WAL written (the cluster is private to this run) and table +
  // index bytes of the database, both before vacuum reclaims anything; and in Redis.
  const storage = async () => {
    const c = new Client({ connectionString: stack.dbUrl });
    await c.connect();
    const r = await c.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS wal, pg_database_size(current_database())::float8 AS db`);
    await c.end();
    // Redis memory: every job of the run is still retained as completed (catalog removeOnComplete:
    // 24 h, up to 1,000 per tenant queue), so the growth is what a retained job costs.
    const redis = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const info = await redis.info('memory');
    redis.disconnect();
    return { wal: Number(r.rows[0].wal), db: Number(r.rows[0].db), redis: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN) };
  };
  try {
    const warm = await warmUp(stack, o.tenants, calls - 2);

    // ---- the pipeline ----
    const c0 = snap();
    const x0 = await commits();
    const st0 = await storage();
    const { load, seconds } = await measuredLoad(stack, o.jobs, calls - 2);
    const c1 = snap();
    const x1 = await commits();
    const st1 = await storage();
    const ok = await stack.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'succeeded')
      .executeTakeFirstOrThrow();
    // Jobs that did not succeed, by status and error code: a figure from a run with failures says why.
    const notOk = await stack.db
      .selectFrom('jobs')
      .select((eb) => ['status', eb.ref('error', '->>').key('code').as('code'), eb.fn.countAll<number>().as('n')])
      .where('status', '<>', 'succeeded')
      .groupBy(['status', 'code'])
      .execute();
    const n = load.accepted.size;
    const cpuPerJobMs = Object.fromEntries(Object.keys(c0).map((k) => [k, ((c1[k]! - c0[k]!) * 1000) / n]));
    // The commits this measuring itself made (2 snapshots) are negligible next to thousands of jobs.
    const commitsPerJob = (x1 - x0) / n;
    const submitP99 = percentile(
      load.attempts.map((a) => a.ms),
      99,
    );

    // ---- bare costs, same run, same servers ----
    const bareN = o.bareN;
    // 1. bare ingress: one Express request = one insert + one BullMQ add.
    const port = await sparePort();
    const bare = spawnEntry(helperEntry('bare-ingress-main', true), {}, [stack.dbUrl, stack.redisUrl, 'bare', String(port)]);
    await waitPort(port, true, 30_000);
    const body = JSON.stringify({ steps: [{ tool: 'asaas/create_customer', args: {} }], metadata: {} });
    const post = (amount: number) =>
      autocannon({
        url: `http://127.0.0.1:${port}/v1/tenants/t001/jobs`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections: 16,
        amount,
      });
    await post(500); // warm-up, not measured
    const b0 = cpuTree(bare.pid) + cpuTree(redisServer.pid()!) + cpuTree(pg.pid());
    await post(bareN);
    const ingressMs = ((cpuTree(bare.pid) + cpuTree(redisServer.pid()!) + cpuTree(pg.pid()) - b0) * 1000) / bareN;
    await bare.stop('SIGKILL');
    // 2. bare BullMQ fetch + complete of those jobs (500 warm-up + bareN queued above).
    const r0 = cpuTree(redisServer.pid()!);
    const consumer = spawnEntry(helperEntry('bare-consumer-main', true), {}, [stack.redisUrl, 'bare', 'bare.t001', String(bareN + 500)]);
    const cons = JSON.parse(await lineOf(consumer, /"cpu_s"/, 120_000)) as { jobs: number; cpu_s: number };
    const fetchMs = ((cons.cpu_s + (cpuTree(redisServer.pid()!) - r0)) * 1000) / cons.jobs;
    await consumer.stop('SIGKILL');
    // 3. bare MCP tool calls over Streamable HTTP, one connection (client + sandbox CPU).
    const mcp = spawnEntry(helperEntry('bare-mcp-main', true), {}, [`${stack.sandbox.url}/mcp/asaas`, stack.accountOf('t001'), String(bareN)]);
    await mcp.waitForOutput(/warm/, 60_000);
    const s0 = cpuTree(stack.sandboxChild!.pid);
    mcp.proc.stdin!.write('go\n');
    const m = JSON.parse(await lineOf(mcp, /"cpu_s"/, 120_000)) as { calls: number; cpu_s: number };
    const mcpCallMs = ((m.cpu_s + cpuTree(stack.sandboxChild!.pid) - s0) * 1000) / m.calls;
    await mcp.stop('SIGKILL');
    // 4. the same number of Postgres writes: single-row autocommit INSERTs (client + server CPU).
    const writes = Math.round(commitsPerJob * Math.min(bareN, 1000));
    const pc = new Client({ connectionString: stack.dbUrl });
    await pc.connect();
    await pc.query('CREATE TEMP TABLE bench_w (id serial primary key, payload jsonb)');
    const p0 = cpuTree(pg.pid());
    const u0 = process.cpuUsage();
    for (let i = 0; i < writes; i++) await pc.query('INSERT INTO bench_w (payload) VALUES ($1)', [JSON.stringify({ i })]);
    const u = process.cpuUsage(u0);
    const pgWriteMs = (((u.user + u.system) / 1e6 + cpuTree(pg.pid()) - p0) * 1000) / Math.max(1, writes);
    await pc.end();

    const bareMs = {
      'ingress request (insert + add)': ingressMs,
      'BullMQ fetch + complete': fetchMs,
      [`${calls} × MCP tool call`]: calls * mcpCallMs,
      [`${commitsPerJob.toFixed(1)} Postgres writes`]: commitsPerJob * pgWriteMs,
    };
    const bareTotal = Object.values(bareMs).reduce((a, b) => a + b, 0);
    const total = Object.values(cpuPerJobMs).reduce((a, b) => a + b, 0);
    const ratio = total / bareTotal;

    console.log(`\n${stack.runs}`);
    console.log(
      `${n} jobs of ${calls} tool calls (${Number(ok.n) - warm.accepted.size} succeeded) across ${o.tenants} tenants, 2 workers × ${o.slots} slots, in ${seconds.toFixed(1)} s = ${(n / seconds).toFixed(0)} jobs/s (submit p99 ${submitP99.toFixed(0)} ms)`,
    );
    if (notOk.length) console.log(`not succeeded: ${notOk.map((r) => `${r.status}/${r.code ?? '-'} × ${r.n}`).join(', ')}`);
    console.log('\n| process | CPU ms per job |\n|---|---|');
    for (const [k, v] of Object.entries(cpuPerJobMs)) console.log(`| ${k} | ${v.toFixed(3)} |`);
    console.log(`| **total** | **${total.toFixed(3)}** |`);
    console.log('\n| bare cost of the same work | CPU ms per job |\n|---|---|');
    for (const [k, v] of Object.entries(bareMs)) console.log(`| ${k} | ${v.toFixed(3)} |`);
    console.log(`| **sum** | **${bareTotal.toFixed(3)}** |`);
    console.log(
      `\n(one bare MCP call: ${mcpCallMs.toFixed(3)} ms CPU; one Postgres write: ${pgWriteMs.toFixed(3)} ms; ${commitsPerJob.toFixed(2)} commits per job)`,
    );
    console.log(`ratio total ÷ bare: ${ratio.toFixed(2)} (goal ≤ 1.5)`);
    console.log(
      `Postgres per job: ${((st1.wal - st0.wal) / n / 1024).toFixed(2)} KiB of WAL, ${((st1.db - st0.db) / n / 1024).toFixed(2)} KiB of tables + indexes`,
    );
    console.log(`Redis per job: ${((st1.redis - st0.redis) / n / 1024).toFixed(2)} KiB of memory (used_memory, the job retained as completed)`);
    return { jobsPerSecond: n / seconds, cpuPerJobMs, bareMs, ratio };
  } finally {
    await stack.close();
  }
}

export interface PipelineClusterResult {
  single: { jobs: number; seconds: number; jobsPerSecond: number };
  cluster: { jobs: number; seconds: number; jobsPerSecond: number };
  /** Cluster jobs/s ÷ single-Redis jobs/s (issue 21: ≥ 0.7). */
  ratio: number;
}

/**
 * The pipeline's throughput on one redis-server and then on a private 3-master + 3-replica Redis
 * Cluster (scripts/redis-cluster.mjs), the same stack otherwise, one after the other in this run:
 * the ratio is what naming a cluster in REDIS_URL costs the whole pipeline.
 */
export async function runPipelineClusterBench(o: Pick<PipelineBenchOptions, 'jobs' | 'tenants' | 'slots'>): Promise<PipelineClusterResult> {
  const runs: Record<'single' | 'cluster', PipelineClusterResult['single']> = {} as never;
  for (const kind of ['single', 'cluster'] as const) {
    const stack = await startStack({ label: `pipe-${kind}`, ...stackShape(o), redisCluster: kind === 'cluster' });
    try {
      if (kind === 'single') console.log(`pipeline: ${stack.runs}`);
      await warmUp(stack, o.tenants);
      const { load, seconds } = await measuredLoad(stack, o.jobs);
      runs[kind] = { jobs: load.accepted.size, seconds, jobsPerSecond: load.accepted.size / seconds };
      console.log(
        `${kind === 'single' ? 'one Redis      ' : 'Redis Cluster 3+3'}: ${runs[kind].jobs} jobs in ${seconds.toFixed(1)} s = ${runs[kind].jobsPerSecond.toFixed(0)} jobs/s`,
      );
    } finally {
      await stack.close();
    }
  }
  const ratio = runs.cluster.jobsPerSecond / runs.single.jobsPerSecond;
  console.log(`\n| Redis | jobs | seconds | jobs/s |\n|---|---|---|---|`);
  for (const kind of ['single', 'cluster'] as const) {
    console.log(
      `| ${kind === 'single' ? 'one redis-server' : 'cluster, 3 masters + 3 replicas'} | ${runs[kind].jobs} | ${runs[kind].seconds.toFixed(1)} | ${runs[kind].jobsPerSecond.toFixed(0)} |`,
    );
  }
  console.log(`ratio cluster ÷ one Redis: ${ratio.toFixed(2)} (goal ≥ 0.7)`);
  return { ...runs, ratio };
}
