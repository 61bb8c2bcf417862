/**
 * Where the pipeline benchmark's CPU goes (issue #11): the same load as `runPipelineBench`, with
 * the two workers under `node --cpu-prof` and the private Postgres cluster under
 * pg_stat_statements, on the built bundles. Prints the workers' top self-time functions and areas
 * (package / file) for the load window only, and every statement the load ran with its calls and
 * time per job. Our packages are compiled into apps/worker/dist/main.js, so their area is that file
 * (function name and bundle line tell them apart); dependencies stay external and keep their package.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { waitTerminal } from '../audit';
import { cpuTree } from '../proc-cpu';
import { printTop, summariseProfiles } from '../cpu-profile';
import { runLoad } from '../load';
import { startStack } from '../stack';

export interface PipelineProfileOptions {
  jobs: number;
  tenants: number;
  slots: number;
  /** Rows printed per table. */
  top: number;
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

    const { fns, areas, total } = summariseProfiles(profDir, exits, w0, w1);
    console.log(
      `\nWorker CPU profile (both workers, load window only): ${cpuMsPerJob.toFixed(3)} CPU ms per job (/proc, under the profiler), ${(total / n).toFixed(3)} ms of non-idle samples per job`,
    );
    printTop('area (package or file)', areas, total, cpuMsPerJob, 'job', o.top);
    printTop('function (self time)', fns, total, cpuMsPerJob, 'job', o.top);
  } finally {
    await pc.end().catch(() => undefined);
    await stack.close();
    rmSync(profDir, { recursive: true, force: true });
  }
}
