/**
 * Where the pipeline benchmark's CPU goes (issue #11): the same load as `runPipelineBench`, with
 * the two workers under `node --cpu-prof` and the private Postgres cluster under
 * pg_stat_statements, on the built bundles. Prints the workers' top self-time functions and areas
 * (package / file) for the load window only, and every statement the load ran with its calls and
 * time per job. Our packages are compiled into apps/worker/dist/main.js, so their area is that file
 * (function name and bundle line tell them apart); dependencies stay external and keep their package.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { waitTerminal } from '../audit';
import { cpuTree } from '../proc-cpu';
import { runLoad } from '../load';
import { startStack } from '../stack';

export interface PipelineProfileOptions {
  jobs: number;
  tenants: number;
  slots: number;
  /** Rows printed per table. */
  top: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A script URL reduced to what it belongs to: a dependency, one of our packages' files, or Node. */
function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(.*?)\/.*$/, 'node:internal/$1');
  const m = /\/(apps|packages)\/(.+)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

/** Self time (ms) per function and per area, counting only samples between fromUs and toUs (profile clock). */
function selfTimes(p: CpuProfile, fromUs: number, toUs: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample's delta is the time since the previous one; charge it to this sample's frame.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    if (t < fromUs || t > toUs) continue;
    const n = byId.get(p.samples[i]!)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    const key = `${functionName || '(anonymous)'} ${url ? `${areaOf(url, functionName)}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + dt);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    total += dt;
  }
  return { fns, areas, total };
}

/**
 * Samples are wall-clock intervals (a descheduled or blocked thread still accrues them), so each
 * row is shown as its share of the samples and that share of the workers' /proc CPU per job.
 */
function printTop(title: string, m: Map<string, number>, total: number, cpuMsPerJob: number, top: number): void {
  console.log(`\n| ${title} | % of samples | ≈ CPU ms per job |\n|---|---|---|`);
  for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| \`${k.replace(/\|/g, '\\|')}\` | ${((100 * v) / total).toFixed(1)} | ${((cpuMsPerJob * v) / total).toFixed(3)} |`);
  }
}

export async function runPipelineProfile(o: PipelineProfileOptions): Promise<void> {
  const profDir = mkdtempSync(path.join(os.tmpdir(), 'pipeline-prof-'));
  const stack = await startStack({
    label: 'pipeprof',
    tenants: o.tenants,
    workers: 2,
    workerSlots: o.slots,
    ownPostgres: true,
    sandboxProcess: true,
    env: { DATABASE_POOL_MAX: '20' },
    workerNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    postgresSettings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all', 'pg_stat_statements.max=10000'],
    bundles: true,
  });
  console.log(`pipeline-profile: ${stack.runs}`);
  const pc = new Client({ connectionString: stack.dbUrl });
  try {
    await pc.connect();
    await pc.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const warm = await runLoad(stack, { jobs: o.tenants * 2, concurrency: 32, retry: 'same-key' });
    await waitTerminal(stack.db, warm.accepted, 120_000);

    await pc.query('SELECT pg_stat_statements_reset()');
    const x0 = Number((await pc.query(`SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0].n);
    // Row writes per table (HOT share of the updates, autovacuum runs), as deltas over the window.
    const tableStats = async () =>
      (
        await pc.query(`SELECT relname, n_tup_ins::float8 AS ins, n_tup_upd::float8 AS upd, n_tup_hot_upd::float8 AS hot, (autovacuum_count + autoanalyze_count)::float8 AS av
                         FROM pg_stat_user_tables WHERE relname IN ('jobs', 'job_steps', 'usage_events', 'webhook_events', 'webhook_deliveries') ORDER BY relname`)
      ).rows as Array<{ relname: string; ins: number; upd: number; hot: number; av: number }>;
    const t0 = await tableStats();
    const workerCpu = () => stack.workers.reduce((sum, w) => sum + cpuTree(w.pid), 0);
    const k0 = workerCpu();
    const w0 = Date.now();
    const load = await runLoad(stack, { jobs: o.jobs, concurrency: 32, retry: 'same-key' });
    await waitTerminal(stack.db, load.accepted, 600_000);
    const w1 = Date.now();
    const n = load.accepted.size;
    const cpuMsPerJob = ((workerCpu() - k0) * 1000) / n;
    const x1 = Number((await pc.query(`SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0].n);
    await new Promise((r) => setTimeout(r, 1_500)); // backends flush their table counters within ~1 s
    const t1 = await tableStats();
    const stmts = await pc.query(
      `SELECT calls::float8 AS calls, total_exec_time AS ms, rows::float8 AS rows, query
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY calls DESC`,
    );

    // Graceful stop: --cpu-prof writes its profile when the process exits.
    const exits = await Promise.all(
      stack.workers.map(async (w) => {
        const pid = w.pid;
        await w.stop('SIGTERM');
        return { pid, at: Date.now() };
      }),
    );

    console.log(
      `\n${n} jobs across ${o.tenants} tenants, 2 workers × ${o.slots} slots, in ${((w1 - w0) / 1000).toFixed(1)} s; ${((x1 - x0) / n).toFixed(2)} commits per job (pg_stat_database.xact_commit, includes the 2 reads of this script)`,
    );
    console.log('\nStatements during the load (pg_stat_statements; exec time only, not parse/plan/protocol):');
    console.log('\n| calls per job | exec ms per job | rows per call | statement |\n|---|---|---|---|');
    for (const r of stmts.rows as Array<{ calls: number; ms: number; rows: number; query: string }>) {
      if (r.calls / n < 0.01) continue;
      const q = r.query.replace(/\s+/g, ' ').slice(0, 160).replace(/\|/g, '\\|');
      console.log(`| ${(r.calls / n).toFixed(2)} | ${(r.ms / n).toFixed(3)} | ${(r.rows / r.calls).toFixed(2)} | \`${q}\` |`);
    }

    console.log('\nRow writes per job by table (pg_stat_user_tables; HOT = updates that touched no index):');
    console.log('\n| table | inserts per job | updates per job | HOT share of updates | autovacuum/analyze runs |\n|---|---|---|---|---|');
    for (const b of t1) {
      const a = t0.find((r) => r.relname === b.relname) ?? { ins: 0, upd: 0, hot: 0, av: 0 };
      const upd = b.upd - a.upd;
      console.log(
        `| ${b.relname} | ${((b.ins - a.ins) / n).toFixed(2)} | ${(upd / n).toFixed(2)} | ${upd ? `${((100 * (b.hot - a.hot)) / upd).toFixed(0)} %` : '-'} | ${b.av - a.av} |`,
      );
    }

    const fns = new Map<string, number>();
    const areas = new Map<string, number>();
    let total = 0;
    for (const file of readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile
      const pid = Number(file.split('.')[3]);
      const exit = exits.find((e) => e.pid === pid);
      if (!exit) continue;
      const p = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile;
      // The profile clock (µs) ends at the exit; map the load window's wall times onto it.
      const offsetUs = p.endTime - exit.at * 1000;
      const s = selfTimes(p, w0 * 1000 + offsetUs, w1 * 1000 + offsetUs);
      for (const [k, v] of s.fns) fns.set(k, (fns.get(k) ?? 0) + v);
      for (const [k, v] of s.areas) areas.set(k, (areas.get(k) ?? 0) + v);
      total += s.total;
    }
    console.log(
      `\nWorker CPU profile (both workers, load window only): ${cpuMsPerJob.toFixed(3)} CPU ms per job (/proc, under the profiler), ${(total / n).toFixed(3)} ms of non-idle samples per job`,
    );
    printTop('area (package or file)', areas, total, cpuMsPerJob, o.top);
    printTop('function (self time)', fns, total, cpuMsPerJob, o.top);
  } finally {
    await pc.end().catch(() => undefined);
    await stack.close();
    rmSync(profDir, { recursive: true, force: true });
  }
}
