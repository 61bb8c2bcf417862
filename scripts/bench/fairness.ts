/**
 * Noisy-neighbour benchmark (issue #6): `npx tsx scripts/bench/fairness.ts [heavyJobs=2000] [jobMs=100] [slots=8] [workers=2]`
 *
 * Real Redis and Postgres (a throwaway database and Redis prefix), the real API (apps/api/dist/main.js),
 * N workers (apps/worker/dist/main.js) and the sandbox with a fixed per-call latency, so every job (a
 * one-step workflow: one MCP tool call) has a known duration, each in its own *child process*, all
 * built bundles under plain Node (built at start, apps/bench/src/bundles.ts); the heavy tenant's
 * client too (apps/bench/src/submitter-main.ts, bundled), so this script's event loop runs
 * only the quiet tenants' clients and its 2,000 POSTs do not delay their submissions. Scenarios:
 *   quiet-alone  9 quiet tenants submit 20 jobs each at a steady rate, nothing else (reference)
 *   flood        the heavy tenant dumps heavyJobs at t=0; the quiet tenants do the same as above during it
 *   alone        the heavy tenant alone (work conservation)
 *   fifo         the flood scenario through ONE shared FIFO queue (every job on one queue), same run
 *   quiet-alone and flood, no headroom  both again after restarting the workers with
 *                WORKER_RESERVED_SLOTS=0 (what the headroom buys and costs: quiet p99, heavy makespan
 *                and share with and without it, same run)
 * The first set of worker children runs with the product's headroom settings (WORKER_RESERVED_SLOTS:
 * a quarter of the slots, FAIR_RESERVE_WINDOW_MS: 10 000 ms) unless this script's environment sets them.
 * Each fresh set of worker processes first runs a few unmeasured jobs per tenant (warm-up).
 * Queue wait = job started_at − created_at (Postgres). Prints per-tenant wait p50/p95/p99/max,
 * throughput share while contended, makespan, the issue's ratios, and the Redis client count per
 * worker process with 1,000 tenants registered and 100 active (from `ss`, by process id).
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '@agents/config';
import { createDb, ensureDatabase, insertTenant, migrate, MIGRATIONS } from '@agents/db';
import type { Db } from '@agents/db';
import { createProducer, createRedis, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { createLogger } from '@agents/observability';
import { dropDatabase, flushPrefix, sparePort, waitPort } from '@agents/testkit';
import { appEntry, createJsonClient, ensureBundles, helperEntry, spawnEntry } from '../../apps/bench/src';

const [HEAVY_JOBS = 2000, JOB_MS = 100, SLOTS = 8, WORKERS = 2] = process.argv.slice(2).map(Number);
const QUIET = 9;
const QUIET_JOBS = 20;
/** Quiet tenants submit one job each every QUIET_EVERY_MS (steady rate), starting QUIET_START_MS into the scenario. */
const QUIET_EVERY_MS = 250;
const QUIET_START_MS = 1000;
const ROOT = path.resolve(__dirname, '../..');
const OPERATOR_KEY = 'op_bench_operator_key_0123456789';
const logger = createLogger({ name: 'bench', level: 'warn' });

interface Submission {
  at: number;
  queueTenant: string;
  label: string;
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');
const quietNames = Array.from({ length: QUIET }, (_, i) => `quiet_${i + 1}`);

async function main() {
  console.log(`fairness: ${ensureBundles()}`);
  const base = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/agents';
  const dbName = `bench_fair_${randomBytes(4).toString('hex')}`;
  const dbUrl = base.replace(/\/[^/]*$/, `/${dbName}`);
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  await ensureDatabase(dbUrl);
  await migrate(dbUrl, MIGRATIONS);
  const db = createDb({ url: dbUrl, max: 10 });
  // The sandbox and the API each in their own process, as the workers are.
  const sandboxPort = await sparePort();
  const sandbox = spawnEntry(helperEntry('latency-sandbox-main', true), {}, [String(sandboxPort), String(JOB_MS)]);
  await waitPort(sandboxPort, true, 30_000);
  const apiPort = await sparePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'development',
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    OPERATOR_API_KEY: OPERATOR_KEY,
    SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
    WORKER_SLOTS: String(SLOTS),
    LOG_LEVEL: 'warn',
    // Several workers on one host: no fixed metrics port each (0 = off).
    WORKER_METRICS_PORT: '0',
    DATABASE_POOL_MAX: String(Math.max(10, SLOTS + 4)),
  };
  // Reads BullMQ's own timestamps of a quiet job (added by the API, moved to active by a worker)
  // before removeOnComplete trims them, to split its wait into stages.
  const stageRedis = createRedis(redisUrl, logger, 'bench-stages');
  const stageReader: StageReader = async (jobs) => {
    const pipe = stageRedis.pipeline();
    for (const j of jobs) pipe.hmget(`${tenantBullPrefix(prefix, j.tenant)}:${tenantQueueName(j.tenant)}:${j.id}`, 'timestamp', 'processedOn');
    const res = (await pipe.exec()) ?? [];
    return res.map(([, v]) => (v as Array<string | null>).map((x) => (x === null ? NaN : Number(x))) as [number, number]);
  };
  const api = spawnEntry(appEntry('api', true), { ...env, PORT: String(apiPort) });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitPort(apiPort, true, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; api said: ${api.stderr().slice(-500)}`);
  });
  let children: ChildProcess[] = [];
  // Never leave worker children behind, however this script ends.
  process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
  const redisClientsOf = (pid: number) => {
    const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `127.0.0.1:${new URL(redisUrl).port || 6379}`]).toString();
    return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length;
  };
  async function startWorkers(extra: Record<string, string> = {}) {
    const wenv = { ...env, ...extra };
    const wc = loadConfig(wenv);
    children = Array.from({ length: WORKERS }, () =>
      spawn(process.execPath, [path.join(ROOT, appEntry('worker', true))], { env: wenv, stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT }),
    );
    // Ready when every worker has its Redis connections up.
    for (let i = 0; i < 300 && children.some((c) => redisClientsOf(c.pid!) < 2); i++) await sleep(100);
    await sleep(500);
    for (const c of children) if (c.exitCode !== null) throw new Error(`worker ${c.pid} exited with ${c.exitCode}`);
    console.log(
      `worker processes (headroom: ${wc.workerReservedSlots} of ${wc.workerSlots} slots, window ${wc.fairReserveWindowMs} ms): ${children.map((c) => `pid ${c.pid} (${redisClientsOf(c.pid!)} Redis clients at start)`).join(', ')}`,
    );
    return wc.workerReservedSlots;
  }
  async function stopWorkers() {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  }

  const headers = { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' };
  // The same client as the heavy tenant's (apps/bench/src/post-json.ts), not the global fetch:
  // the load generators should cost the machine as little as they can.
  const client = createJsonClient(apiUrl, { authorization: headers.authorization }, 64);
  const post = async (p: string, body: unknown) => {
    const r = await client.post(p, JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${p} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as { id: string };
  };
  const put = (p: string, body: unknown) => fetch(apiUrl + p, { method: 'PUT', headers, body: JSON.stringify(body) });
  for (const [id, concurrency] of [['heavy', 1000], ['fifo_shared', 1000], ...quietNames.map((q) => [q, 1000] as const)] as const) {
    await post('/v1/admin/tenants', { id, servers: ['asaas'], limits: { concurrency, requests_per_minute: 1_000_000, monthly_tool_calls: 1_000_000_000 } });
    await put(`/v1/tenants/${id}/credentials/asaas?environment=live`, { values: { api_key: `aact_${id}_bench` } });
  }

  const jobBody = (scenario: string, label: string) => ({
    type: 'workflow',
    servers: ['asaas'],
    metadata: { scenario, origin: label },
    steps: [{ tool: 'asaas/create_customer', args: { name: `Customer of ${label}`, cpfCnpj: '52998224725' } }],
  });
  /**
   * The heavy tenant's client runs in its own process (apps/bench/src/submitter-main.ts, bundled), as a
   * different customer's would: its 2,000 POSTs do not hold up the quiet tenants' timers and
   * requests in this process's event loop.
   */
  const submitInChild = (name: string, list: Submission[]) =>
    new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, helperEntry('submitter-main', true))], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          SUBMIT_TOKEN: OPERATOR_KEY,
          SUBMIT_SPEC: JSON.stringify({
            url: apiUrl,
            path: `/v1/tenants/${list[0]!.queueTenant}/jobs`,
            count: list.length,
            inFlight: 32,
            body: jobBody(name, list[0]!.label),
          }),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`heavy submitter exited with ${code}`))));
    });

  async function run(name: string, subs: Submission[]) {
    const t0 = Date.now();
    const ids: string[] = [];
    // Each tenant submits on its own schedule, independently of the others (a quiet tenant's
    // steady trickle is not held up behind the heavy tenant's 2,000 POSTs); submissions of one
    // tenant due at the same moment go out 32 at a time. The heavy tenant's (all due at t=0)
    // come from their own process.
    const streams = new Map<string, Submission[]>();
    for (const s of subs) streams.set(s.label, [...(streams.get(s.label) ?? []), s]);
    await Promise.all(
      [...streams.values()].map(async (list) => {
        if (list[0]!.label === 'heavy') {
          ids.push(...(await submitInChild(name, list)));
          return;
        }
        list.sort((a, b) => a.at - b.at);
        let i = 0;
        while (i < list.length) {
          const wait = t0 + list[i]!.at - Date.now();
          if (wait > 0) await sleep(wait);
          const batch: Submission[] = [];
          while (i < list.length && list[i]!.at <= Date.now() - t0 && batch.length < 32) batch.push(list[i++]!);
          const made = await Promise.all(batch.map((s) => post(`/v1/tenants/${s.queueTenant}/jobs`, jobBody(name, s.label))));
          ids.push(...made.map((m) => m.id));
        }
      }),
    );
    for (;;) {
      const left = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('id', 'in', ids)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirstOrThrow();
      if (Number(left.n) === 0) break;
      await sleep(200);
    }
    return collect(db, ids, stageReader);
  }

  const quietSubs = (queue?: string): Submission[] =>
    quietNames.flatMap((q, qi) =>
      Array.from({ length: QUIET_JOBS }, (_, k) => ({
        at: QUIET_START_MS + k * QUIET_EVERY_MS + Math.floor((qi * QUIET_EVERY_MS) / QUIET),
        queueTenant: queue ?? q,
        label: q,
      })),
    );
  const heavySubs = (queue?: string): Submission[] => Array.from({ length: HEAVY_JOBS }, () => ({ at: 0, queueTenant: queue ?? 'heavy', label: 'heavy' }));

  // Every scenario is measured on warm workers: each tenant first runs a few unmeasured jobs in each
  // fresh set of worker processes (module loading, JIT, each tenant's first MCP connection per
  // process), so that the no-flood reference is not a cold start.
  const warmUp = () =>
    run(
      'warm-up',
      ['heavy', 'fifo_shared', ...quietNames].flatMap((t) => Array.from({ length: 2 * WORKERS }, () => ({ at: 0, queueTenant: t, label: `warm_${t}` }))),
    );
  // The issue's scenarios run with the product's headroom (or the environment's), the comparison below without.
  const reservedSlots = await startWorkers();
  await warmUp();
  console.log(
    `fairness benchmark: ${WORKERS} worker processes × ${SLOTS} slots, job = one tool call with ${JOB_MS} ms latency, heavy = ${HEAVY_JOBS} jobs at t=0, ${QUIET} quiet tenants × ${QUIET_JOBS} jobs every ${QUIET_EVERY_MS} ms\n`,
  );
  const quietAlone = await run('quiet-alone', quietSubs());
  report('quiet-alone (no flood)', quietAlone);
  const flood = await run('flood', [...heavySubs(), ...quietSubs()]);
  report('flood (fair dispatcher, per-tenant queues)', flood);
  const alone = await run('alone', heavySubs());
  report('alone (heavy tenant only)', alone);
  const fifo = await run('fifo', [...heavySubs('fifo_shared'), ...quietSubs('fifo_shared')]);
  report('fifo baseline (one shared FIFO queue)', fifo);

  // Redis clients per worker process with 1,000 tenants registered and 100 active.
  const producerRedis = createRedis(redisUrl, logger, 'bench');
  const producer = createProducer({ redis: producerRedis, redisPrefix: prefix, attempts: 1 });
  for (let t = 0; t < 1000; t++) {
    const id = `reg_${String(t).padStart(4, '0')}`;
    await insertTenant(db, {
      id,
      name: id,
      servers: ['asaas'],
      limits: { concurrency: 2, requests_per_minute: 1_000_000, monthly_tool_calls: 1_000_000, max_iterations: 10 },
      plan: { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 },
      instructions: null,
      webhook_url: null,
    } as Parameters<typeof insertTenant>[1]);
    await producer.tenantQueue(id).setGlobalConcurrency(2);
    if (t < 100) await put(`/v1/tenants/${id}/credentials/asaas?environment=live`, { values: { api_key: `aact_${id}_bench` } });
  }
  const idleClients = children.map((c) => redisClientsOf(c.pid!));
  const activeRun = run(
    'hundred-active',
    Array.from({ length: 100 * 5 }, (_, k) => ({ at: 0, queueTenant: `reg_${String(k % 100).padStart(4, '0')}`, label: 'reg' })),
  );
  const maxClients = children.map(() => 0);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      children.forEach((c, i) => (maxClients[i] = Math.max(maxClients[i]!, redisClientsOf(c.pid!))));
      await sleep(100);
    }
  })();
  await activeRun;
  sampling = false;
  await sampler;

  // The cost of the headroom: the same flood with it turned off, same run.
  await stopWorkers();
  await startWorkers({ WORKER_RESERVED_SLOTS: '0' });
  await warmUp();
  // Its own no-flood reference right before it: the machine's load drifts over the minutes between.
  const quietAloneNoHeadroom = await run('quiet-alone-no-headroom', quietSubs());
  report('quiet-alone, no headroom (WORKER_RESERVED_SLOTS=0)', quietAloneNoHeadroom);
  const floodNoHeadroom = await run('flood-no-headroom', [...heavySubs(), ...quietSubs()]);
  report('flood, no headroom (WORKER_RESERVED_SLOTS=0)', floodNoHeadroom);

  // Ratios.
  const quietWaits = (r: Result) => quietNames.flatMap((q) => r.byLabel.get(q)?.waits ?? []);
  const p99NoFlood = pct(quietWaits(quietAlone), 99);
  const p99Flood = pct(quietWaits(flood), 99);
  const p99Fifo = pct(quietWaits(fifo), 99);
  const capacity = (WORKERS * SLOTS * 1000) / alone.meanRunMs; // jobs/s if every slot were always busy
  const aloneThroughput = (HEAVY_JOBS * 1000) / alone.makespanMs;
  console.log('\n## Ratios');
  console.log(`| ratio | value | goal |\n|---|---|---|`);
  console.log(
    `| quiet p99 wait under flood ÷ quiet p99 with no flood | ${f0(p99Flood)} / ${f0(p99NoFlood)} ms = ${(p99Flood / p99NoFlood).toFixed(2)} | ≤ 2 |`,
  );
  console.log(
    `| quiet p99 wait under flood ÷ quiet p99 in the FIFO baseline | ${f0(p99Flood)} / ${f0(p99Fifo)} ms = ${(p99Flood / p99Fifo).toFixed(3)} | ≤ 0.05 |`,
  );
  console.log(
    `| heavy-alone throughput ÷ slot capacity | ${aloneThroughput.toFixed(1)} / ${capacity.toFixed(1)} jobs/s = ${(aloneThroughput / capacity).toFixed(3)} | ≥ 0.9 |`,
  );
  console.log(
    `| Redis clients per worker process, 1,000 tenants registered, 100 active | max ${maxClients.join(', ')} (idle: ${idleClients.join(', ')}) | ≤ 10 |`,
  );
  console.log(`\n(slot capacity = ${WORKERS} × ${SLOTS} slots ÷ mean job run time ${alone.meanRunMs.toFixed(1)} ms, measured in the alone scenario)`);
  const p99NoHeadroom = pct(quietWaits(floodNoHeadroom), 99);
  const share = (r: Result) => {
    const total = [...r.contended.values()].reduce((a, b) => a + b, 0);
    return total ? `${((100 * (r.contended.get('heavy') ?? 0)) / total).toFixed(1)}%` : '-';
  };
  console.log(`\n## Headroom: ${reservedSlots} of ${SLOTS} slots per process vs none (same run)`);
  console.log(`| | headroom ${reservedSlots} | none |\n|---|---|---|`);
  console.log(`| quiet p99 wait under flood (ms) | ${f0(p99Flood)} | ${f0(p99NoHeadroom)} |`);
  const p99NoFloodNoHeadroom = pct(quietWaits(quietAloneNoHeadroom), 99);
  console.log(`| quiet p99 wait with no flood, same worker set (ms) | ${f0(p99NoFlood)} | ${f0(p99NoFloodNoHeadroom)} |`);
  console.log(`| flood ÷ no flood | ${(p99Flood / p99NoFlood).toFixed(2)} | ${(p99NoHeadroom / p99NoFloodNoHeadroom).toFixed(2)} |`);
  console.log(`| heavy makespan (s) | ${(flood.makespanMs / 1000).toFixed(2)} | ${(floodNoHeadroom.makespanMs / 1000).toFixed(2)} |`);
  console.log(
    `| heavy throughput (jobs/s over its makespan) | ${((HEAVY_JOBS * 1000) / flood.heavyMakespanMs).toFixed(1)} | ${((HEAVY_JOBS * 1000) / floodNoHeadroom.heavyMakespanMs).toFixed(1)} |`,
  );
  console.log(`| heavy share of starts while contended | ${share(flood)} | ${share(floodNoHeadroom)} |`);

  await producer.close();
  producerRedis.disconnect();
  stageRedis.disconnect();
  client.close();
  await stopWorkers();
  await api.stop('SIGTERM');
  await sandbox.stop('SIGTERM');
  await db.destroy();
  await dropDatabase(dbName, base.replace(/\/[^/]*$/, ''));
  await flushPrefix(prefix, redisUrl);
}

interface LabelStats {
  waits: number[];
}
type StageReader = (jobs: Array<{ id: string; tenant: string }>) => Promise<Array<[number, number]>>;
/** A quiet job's wait split at BullMQ's add time and the worker's moveToActive time (ms each). */
interface QuietStages {
  /** created_at (row insert, Postgres clock) → BullMQ add (API clock): the rest of the POST before the enqueue. */
  toEnqueue: number[];
  /** BullMQ add → moveToActive by a worker (worker clock): activation pub/sub, waiting for a slot, the fetch. */
  toFetch: number[];
  /** moveToActive → started_at (Postgres clock): handler start, the startAttempt UPDATE. */
  toStart: number[];
}
interface Result {
  byLabel: Map<string, LabelStats>;
  makespanMs: number;
  /** First heavy submission → last heavy job finished (NaN without heavy jobs). */
  heavyMakespanMs: number;
  meanRunMs: number;
  /** Most quiet jobs created (row insert) within any QUIET_EVERY_MS ÷ QUIET window: 1 = spread as scheduled, QUIET = in phase. */
  quietBurst: number;
  /** Jobs started per label while ≥ 2 labels had queued work. */
  contended: Map<string, number>;
  quietStages: QuietStages;
  /** Quiet waits split at the heavy tenant's last row insert: while its POSTs were still arriving, and after. */
  quietDuringIngest: number[];
  quietAfterIngest: number[];
  /** The heavy tenant's first row insert → its last (NaN without heavy jobs). */
  heavyIngestMs: number;
}

async function collect(db: Db, ids: string[], readStages: StageReader): Promise<Result> {
  const rows = await db
    .selectFrom('jobs')
    .select(['id', 'tenant_id', 'metadata', 'created_at', 'started_at', 'finished_at', 'status'])
    .where('id', 'in', ids)
    .execute();
  const quietRows = rows.filter((r) => (r.metadata as Record<string, string>).origin !== 'heavy' && (r.metadata as Record<string, string>).origin !== 'reg');
  const bull = await readStages(quietRows.map((r) => ({ id: r.id, tenant: r.tenant_id })));
  const quietStages: QuietStages = { toEnqueue: [], toFetch: [], toStart: [] };
  quietRows.forEach((r, i) => {
    const [added, active] = bull[i]!;
    if (!Number.isFinite(added) || !Number.isFinite(active)) return;
    quietStages.toEnqueue.push(added - r.created_at.getTime());
    quietStages.toFetch.push(active - added);
    quietStages.toStart.push(r.started_at!.getTime() - active);
  });
  const byLabel = new Map<string, LabelStats>();
  let first = Infinity;
  let last = 0;
  let run = 0;
  const events: Array<{ t: number; label: string; kind: 'arrive' | 'start' }> = [];
  for (const r of rows) {
    const label = (r.metadata as Record<string, string>).origin!;
    const c = r.created_at.getTime();
    const s = r.started_at!.getTime();
    const f = r.finished_at!.getTime();
    if (r.status !== 'succeeded') throw new Error(`a job ended ${r.status}`);
    let st = byLabel.get(label);
    if (!st) byLabel.set(label, (st = { waits: [] }));
    st.waits.push(s - c);
    first = Math.min(first, c);
    last = Math.max(last, f);
    run += f - s;
    events.push({ t: c, label, kind: 'arrive' }, { t: s, label, kind: 'start' });
  }
  // Contention share: starts per label while at least two labels (heavy vs the quiet ones together) had queued work.
  events.sort((a, b) => a.t - b.t || (a.kind === 'arrive' ? -1 : 1));
  const queued = new Map<string, number>();
  const contended = new Map<string, number>();
  const group = (l: string) => (l === 'heavy' ? 'heavy' : 'quiet');
  for (const e of events) {
    const g = group(e.label);
    if (e.kind === 'arrive') queued.set(g, (queued.get(g) ?? 0) + 1);
    else {
      const busy = [...queued.values()].filter((n) => n > 0).length;
      if (busy >= 2) contended.set(g, (contended.get(g) ?? 0) + 1);
      queued.set(g, queued.get(g)! - 1);
    }
  }
  const heavyRows = rows.filter((r) => (r.metadata as Record<string, string>).origin === 'heavy');
  const heavyCreated = heavyRows.map((r) => r.created_at.getTime());
  const heavyFirstCreated = Math.min(...heavyCreated);
  const heavyLastCreated = heavyRows.length ? Math.max(...heavyCreated) : -Infinity;
  const heavyMakespanMs = heavyRows.length ? Math.max(...heavyRows.map((r) => r.finished_at!.getTime())) - heavyFirstCreated : NaN;
  const heavyIngestMs = heavyRows.length ? heavyLastCreated - heavyFirstCreated : NaN;
  const created = quietRows.map((r) => r.created_at.getTime()).sort((a, b) => a - b);
  let quietBurst = 0;
  for (let i = 0, j = 0; i < created.length; i++) {
    while (created[i]! - created[j]! >= QUIET_EVERY_MS / QUIET) j++;
    quietBurst = Math.max(quietBurst, i - j + 1);
  }
  const quietDuringIngest: number[] = [];
  const quietAfterIngest: number[] = [];
  for (const r of quietRows)
    (r.created_at.getTime() <= heavyLastCreated ? quietDuringIngest : quietAfterIngest).push(r.started_at!.getTime() - r.created_at.getTime());
  return {
    byLabel,
    makespanMs: last - first,
    heavyMakespanMs,
    meanRunMs: run / rows.length,
    contended,
    quietStages,
    quietBurst,
    quietDuringIngest,
    quietAfterIngest,
    heavyIngestMs,
  };
}

function report(title: string, r: Result) {
  console.log(`## ${title}`);
  console.log('| tenant | jobs | wait p50 ms | p95 | p99 | max |\n|---|---|---|---|---|---|');
  const rows: Array<[string, number[]]> = [];
  const heavy = r.byLabel.get('heavy');
  if (heavy) rows.push(['heavy', heavy.waits]);
  const quiet = quietNames.flatMap((q) => r.byLabel.get(q)?.waits ?? []);
  if (quiet.length) {
    for (const q of quietNames.slice(0, 3)) rows.push([q, r.byLabel.get(q)!.waits]);
    rows.push([`all ${QUIET} quiet`, quiet]);
  }
  if (r.byLabel.has('reg')) rows.push(['100 active', r.byLabel.get('reg')!.waits]);
  for (const [name, w] of rows) console.log(`| ${name} | ${w.length} | ${f0(pct(w, 50))} | ${f0(pct(w, 95))} | ${f0(pct(w, 99))} | ${f0(Math.max(...w))} |`);
  const totalContended = [...r.contended.values()].reduce((a, b) => a + b, 0);
  if (totalContended) {
    const share = (g: string) => ((100 * (r.contended.get(g) ?? 0)) / totalContended).toFixed(1);
    console.log(
      `throughput share while contended (${totalContended} starts with both heavy and quiet work queued): heavy ${share('heavy')}%, quiet ${share('quiet')}%`,
    );
  }
  const st = r.quietStages;
  if (st.toFetch.length) {
    const fmt = (w: number[]) => `p50 ${f0(pct(w, 50))} / p99 ${f0(pct(w, 99))} / max ${f0(Math.max(...w))}`;
    console.log(
      `quiet wait by stage (ms, ${st.toFetch.length} jobs): row insert → enqueue ${fmt(st.toEnqueue)}; enqueue → fetched ${fmt(st.toFetch)}; fetched → started ${fmt(st.toStart)}`,
    );
    if (r.quietDuringIngest.length) {
      const part = (w: number[]) => (w.length ? `${w.length} jobs, p50 ${f0(pct(w, 50))} / p99 ${f0(pct(w, 99))} ms` : 'none');
      console.log(
        `quiet wait while the heavy tenant's POSTs were still arriving (its last row ${(r.heavyIngestMs / 1000).toFixed(2)} s after its first): ${part(r.quietDuringIngest)}; after its last one: ${part(r.quietAfterIngest)}`,
      );
    }
    console.log(
      `quiet arrivals: at most ${r.quietBurst} of the ${QUIET} quiet tenants' jobs created within any ${(QUIET_EVERY_MS / QUIET).toFixed(1)} ms (1 = spread as scheduled, ${QUIET} = all in phase)`,
    );
  }
  console.log(`makespan ${(r.makespanMs / 1000).toFixed(2)} s, mean job run time ${r.meanRunMs.toFixed(1)} ms\n`);
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
