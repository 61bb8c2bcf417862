/**
 * Where the ingress benchmark's API CPU goes: the same load as `runIngressBench` against the API
 * bundle under `node --cpu-prof`, with a private Postgres cluster under pg_stat_statements. Prints
 * the API's CPU per request (/proc, under the profiler), its top self-time areas and functions for
 * the load window only, and every statement the load ran with its calls per request. Our packages
 * are compiled into apps/api/dist/main.js, so their area is that file (function name and bundle
 * line tell them apart); dependencies stay external and keep their package.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { printTop, summariseProfiles } from '../cpu-profile';
import { startStack } from '../stack';
import { issueLiveKeys, loadIngress } from './ingress';

export interface IngressProfileOptions {
  seconds: number;
  connections: number;
  tenants: number;
  /** Rows printed per table. */
  top: number;
}

export async function runIngressProfile(o: IngressProfileOptions): Promise<void> {
  const profDir = mkdtempSync(path.join(os.tmpdir(), 'ingress-prof-'));
  const stack = await startStack({
    label: 'ingressprof',
    tenants: o.tenants,
    workers: 0,
    ownPostgres: true,
    env: { LOG_LEVEL: 'warn' },
    apiNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    postgresSettings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all', 'pg_stat_statements.max=10000'],
    bundles: true,
  });
  console.log(`ingress-profile: ${stack.runs}`);
  const pc = new Client({ connectionString: stack.dbUrl });
  try {
    await pc.connect();
    await pc.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const keys = await issueLiveKeys(stack);
    // loadIngress warms up for 2 s before it measures; the statements count from the reset.
    await pc.query('SELECT pg_stat_statements_reset()');
    const run = await loadIngress(o, 'api', stack.apiUrl, stack.api.pid, stack.tenants, keys);
    const w1 = Date.now();
    const stmts = await pc.query(
      `SELECT calls::float8 AS calls, total_exec_time AS ms, rows::float8 AS rows, query
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY calls DESC`,
    );
    const pid = stack.api.pid;
    // Graceful stop: --cpu-prof writes its profile when the process exits.
    await stack.api.stop('SIGTERM');
    const exits = [{ pid, at: Date.now() }];

    // Requests of the warm-up and the measured run, for the statements (counted over both).
    const requests = run.rps * o.seconds * ((o.seconds + 2) / o.seconds);
    console.log(
      `\n${o.connections} connections, ${o.seconds} s measured, ${o.tenants} tenants: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, non-2xx ${run.non2xx}, ${run.cpuMsPerReq.toFixed(3)} API CPU ms per request (/proc, under the profiler)`,
    );
    console.log('\nStatements during warm-up and load (pg_stat_statements; calls per request ≈, by the measured rate):');
    console.log('\n| calls per request | exec ms per call | rows per call | statement |\n|---|---|---|---|');
    for (const r of stmts.rows as Array<{ calls: number; ms: number; rows: number; query: string }>) {
      if (r.calls / requests < 0.005) continue;
      const q = r.query.replace(/\s+/g, ' ').slice(0, 160).replace(/\|/g, '\\|');
      console.log(`| ${(r.calls / requests).toFixed(3)} | ${(r.ms / r.calls).toFixed(3)} | ${(r.rows / r.calls).toFixed(2)} | \`${q}\` |`);
    }
    // The measured run is the last o.seconds of the window (after its 2 s warm-up).
    const { fns, areas, total } = summariseProfiles(profDir, exits, w1 - o.seconds * 1000, w1);
    console.log(`\nAPI CPU profile (measured run only): ${(total / (run.rps * o.seconds)).toFixed(3)} ms of non-idle samples per request`);
    printTop('area (package or file)', areas, total, run.cpuMsPerReq, 'request', o.top);
    printTop('function (self time)', fns, total, run.cpuMsPerReq, 'request', o.top);
  } finally {
    await pc.end().catch(() => undefined);
    await stack.close();
    rmSync(profDir, { recursive: true, force: true });
  }
}
