/**
 * Billing rollup benchmark:
 * `npx tsx scripts/bench/rollup.ts [events=5000000] [tenants=1000] [incremental=50000] [months=24] [rounds=3]`
 *
 * Two throwaway databases (on the server of DATABASE_URL) with the same synthetic events: one with
 * usage_events as it was before migration 0015 (one table), one partitioned by month (every
 * migration, plus empty partitions for the `months` months before the events': a table that has
 * kept years of usage). N events across T tenants, each tenant using 3 of the 6 servers, spread
 * over one day, committed in batches of 500k. Then `rounds` rounds, alternating which table goes
 * first, each of:
 *   1. baseline: a bare INSERT … SELECT … GROUP BY of the same events into an empty copy of usage_rollups
 *   2. full:     runRollup from an empty watermark over all of them (the production code path)
 * then on each table: M new events spread over the day and a run; M more in the day's last hour and a run.
 * Prints events/s (medians of the rounds), each table's ratios (goals: full ÷ bare ≥ 0.8,
 * incremental time ÷ full time ≤ 2%) and partitioned ÷ unpartitioned (issue 21: full-rollup
 * throughput ≥ 0.9; the others as information). A reconciliation of each must find no difference.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { loadConfig } from '@agents/config';
import { createDb, ensureDatabase, ensureUsagePartitions, migrate, MIGRATIONS } from '@agents/db';
import type { Migration } from '@agents/db';
import { reconcileUsage, runRollup } from '@agents/billing';
import { runAsBundle } from '../../apps/bench/src/bundles';

const [EVENTS = 5_000_000, TENANTS = 1_000, INCREMENTAL = 50_000, MONTHS = 24, ROUNDS = 3] = process.argv.slice(2).map(Number);
const BATCH = 500_000;
// Yesterday (UTC midnight): a full past day of usage, whenever the benchmark runs.
const DAY = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`;

/** Tiny tagged template → parameterised query on a pg Client. */
function sql(strings: TemplateStringsArray, ...values: unknown[]) {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? `$${i + 1}` : ''), '');
  return { execute: (c: Client) => c.query(text, values) };
}

function eventsSql(from: number, to: number, startIso: string, spanS = 86_400) {
  // Deterministic spread: tenant = g mod T; each tenant's 3 servers start at (tenant mod 6);
  // 4 tools per server; one event in 5 is a model turn with tokens; 1 in 10 is test; 1 in 17 fails.
  return sql`
    INSERT INTO usage_events (id, idempotency_key, tenant_id, environment, job_id, kind, server, tool, success, denied,
                              duration_ms, input_tokens, output_tokens, metadata, occurred_at)
    SELECT 'tc_bench' || g, 'bench:' || g, 'tenant_' || lpad((g % ${TENANTS})::text, 5, '0'),
           CASE WHEN g % 10 = 0 THEN 'test' ELSE 'live' END, NULL,
           CASE WHEN g % 5 = 0 THEN 'model_turn' ELSE 'tool_call' END,
           CASE WHEN g % 5 = 0 THEN NULL
                ELSE (ARRAY['asaas','z-api','stripe','correios','nuvem-fiscal','melhor-envio'])[1 + ((g % ${TENANTS}) + (g / ${TENANTS}) % 3) % 6] END,
           CASE WHEN g % 5 = 0 THEN NULL ELSE 'tool_' || ((g / 7) % 4) END,
           g % 17 <> 0, false, (g % 200)::int,
           CASE WHEN g % 5 = 0 THEN (g % 1000)::int ELSE 0 END,
           CASE WHEN g % 5 = 0 THEN (g % 300)::int ELSE 0 END,
           '{}'::jsonb,
           ${startIso}::timestamptz + ((g * 7919) % ${spanS}) * interval '1 second'
      FROM generate_series(${from}::bigint, ${to}::bigint) g`;
}

/** Waits until every committed transaction so far is below snapshot xmin, so one run takes all events. */
async function quiesce(db: Client): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await sql`
      SELECT pg_snapshot_xmin(pg_current_snapshot()) > coalesce((SELECT max(txid) FROM usage_events), '0'::xid8) AS ok`.execute(db);
    if ((r.rows[0] as { ok: boolean }).ok) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('another transaction on the server kept the snapshot xmin back for a minute');
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [v, Number(process.hrtime.bigint() - t) / 1e9];
}

interface Variant {
  label: string;
  migrations: readonly Migration[];
  /** Empty month partitions to create before the events' month (partitioned variant only). */
  monthsBefore?: number;
}

/** One loaded database and what was measured on it. */
interface Bed {
  v: Variant;
  name: string;
  db: ReturnType<typeof createDb>;
  pg: Client;
  partitions: number;
  loadS: number;
  bareS: number[];
  fullS: number[];
  groups: number;
  incS: number;
  incGroups: number;
  recS: number;
  recGroups: number;
}

function serverUrl(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function prepare(v: Variant, databaseUrl: string): Promise<Bed> {
  const name = `bench_rollup_${randomBytes(4).toString('hex')}`;
  const url = serverUrl(databaseUrl, name);
  await ensureDatabase(url);
  await migrate(url, v.migrations);
  const db = createDb({ url, max: 2 });
  const pg = new Client({ connectionString: url });
  await pg.connect();
  if (v.monthsBefore) {
    const day = new Date(DAY);
    await ensureUsagePartitions(db, { now: new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - v.monthsBefore, 1)), monthsAhead: v.monthsBefore });
  }
  const partitions = Number((await sql`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'usage_events'::regclass`.execute(pg)).rows[0].n);
  console.log(
    `[${v.label}] database ${name}: ${partitions} partitions; generating ${EVENTS.toLocaleString()} events across ${TENANTS} tenants over ${DAY.slice(0, 10)}…`,
  );
  await sql`INSERT INTO tenants (id, name, servers, limits, plan)
            SELECT 'tenant_' || lpad(g::text, 5, '0'), 'bench', ARRAY['asaas'], '{}', '{}' FROM generate_series(0, ${TENANTS - 1}) g`.execute(pg);
  const [, loadS] = await timed(async () => {
    for (let from = 1; from <= EVENTS; from += BATCH) await eventsSql(from, Math.min(EVENTS, from + BATCH - 1), DAY).execute(pg);
  });
  await sql`VACUUM ANALYZE usage_events`.execute(pg);
  await sql`CREATE TABLE bare_rollups (LIKE usage_rollups INCLUDING ALL)`.execute(pg);
  console.log(`[${v.label}] loaded in ${loadS.toFixed(1)} s`);
  return { v, name, db, pg, partitions, loadS, bareS: [], fullS: [], groups: 0, incS: 0, incGroups: 0, recS: 0, recGroups: 0 };
}

/** One round on a bed: the bare statement, then a full rollup from an empty watermark (state reset first). */
async function fullRound(b: Bed): Promise<void> {
  const { pg } = b;
  await sql`TRUNCATE usage_rollups, bare_rollups`.execute(pg);
  await sql`UPDATE rollup_state SET watermark = '0'::xid8, usage_through = NULL, events_total = 0, last_run_at = NULL WHERE id = 1`.execute(pg);
  await quiesce(pg);
  // Baseline: the bare statement, same events, same grouping, same work_mem, into an empty table with the same key.
  const [, bareS] = await timed(async () => {
    await pg.query('BEGIN');
    await pg.query(`SET LOCAL work_mem = '64MB'`);
    await sql`
        INSERT INTO bare_rollups (tenant_id, environment, hour, kind, server, tool, events, failures, denied, duration_ms, input_tokens, output_tokens)
        SELECT tenant_id, environment, date_trunc('hour', occurred_at, 'UTC'), kind, coalesce(server, ''), coalesce(tool, ''),
               count(*), count(*) FILTER (WHERE NOT success), count(*) FILTER (WHERE denied),
               coalesce(sum(duration_ms), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)
          FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6`.execute(pg);
    await pg.query('COMMIT');
  });
  const [full, fullS] = await timed(() => runRollup(b.db));
  if (full.events !== EVENTS) throw new Error(`[${b.v.label}] full run took ${full.events} events, expected ${EVENTS}`);
  b.bareS.push(bareS);
  b.fullS.push(fullS);
  b.groups = full.groups;
  console.log(`[${b.v.label}] round ${b.fullS.length}: bare ${bareS.toFixed(2)} s, full rollup ${fullS.toFixed(2)} s`);
}

/**
 * After the last full round: M new events spread over the whole day (worst case: almost every
 * event lands in a different rollup row), then M more in the day's last hour (what a run every
 * minute sees: recent events), each followed by a run.
 */
async function incremental(b: Bed, round: 'spread' | 'recent'): Promise<void> {
  const first = EVENTS + 1 + (round === 'spread' ? 0 : INCREMENTAL);
  const at = round === 'spread' ? DAY : new Date(new Date(DAY).getTime() + 23 * 3_600_000).toISOString();
  await eventsSql(first, first + INCREMENTAL - 1, at, round === 'spread' ? 86_400 : 3_600).execute(b.pg);
  await quiesce(b.pg);
  const [r, s] = await timed(() => runRollup(b.db));
  if (r.events !== INCREMENTAL) throw new Error(`[${b.v.label}] ${round} incremental run took ${r.events} events, expected ${INCREMENTAL}`);
  if (round === 'spread') [b.incS, b.incGroups] = [s, r.groups];
  else [b.recS, b.recGroups] = [s, r.groups];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function report(b: Bed): Promise<number> {
  const rec = await reconcileUsage(b.db, { from: new Date(DAY), to: new Date(new Date(DAY).getTime() + 86_400_000) });
  const bareS = median(b.bareS);
  const fullS = median(b.fullS);
  const bareRate = EVENTS / bareS;
  const fullRate = EVENTS / fullS;
  for (const l of [
    `bare INSERT…SELECT…GROUP BY: ${EVENTS.toLocaleString()} events in ${bareS.toFixed(2)} s (median of ${b.bareS.map((x) => x.toFixed(2)).join(', ')}) = ${Math.round(bareRate).toLocaleString()} events/s`,
    `full rollup:                 ${EVENTS.toLocaleString()} events in ${fullS.toFixed(2)} s (median of ${b.fullS.map((x) => x.toFixed(2)).join(', ')}) = ${Math.round(fullRate).toLocaleString()} events/s (${b.groups.toLocaleString()} rollup rows)`,
    `incremental rollup:          ${INCREMENTAL.toLocaleString()} events in ${b.incS.toFixed(3)} s = ${Math.round(INCREMENTAL / b.incS).toLocaleString()} events/s (${b.incGroups.toLocaleString()} rows updated)`,
    `incremental, recent events:  ${INCREMENTAL.toLocaleString()} events in ${b.recS.toFixed(3)} s = ${Math.round(INCREMENTAL / b.recS).toLocaleString()} events/s (${b.recGroups.toLocaleString()} rows touched)`,
    `ratio full ÷ bare throughput:      ${(fullRate / bareRate).toFixed(3)} (goal ≥ 0.8)`,
    `ratio incremental ÷ full time:     ${((b.incS / fullS) * 100).toFixed(2)}% spread over the day, ${((b.recS / fullS) * 100).toFixed(2)}% recent (goal ≤ 2%)`,
    `reconciliation: ${rec.events.toLocaleString()} events, ${rec.differences.length} differences`,
  ])
    console.log(`[${b.v.label}] ${l}`);
  return rec.differences.length;
}

async function drop(b: Bed, databaseUrl: string): Promise<void> {
  await b.pg.end();
  await b.db.destroy();
  const admin = new Client({ connectionString: serverUrl(databaseUrl, 'postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${b.name}" WITH (FORCE)`);
  await admin.end();
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  console.log(`load average (1 min) at start: ${loadavg()}`);
  const beds: Bed[] = [];
  try {
    beds.push(await prepare({ label: 'unpartitioned', migrations: MIGRATIONS.filter((m) => m.id < '0015-usage-partitions') }, config.databaseUrl));
    beds.push(await prepare({ label: 'partitioned', migrations: MIGRATIONS, monthsBefore: MONTHS }, config.databaseUrl));
    const [flat, parts] = beds as [Bed, Bed];
    // Alternating order (A B, B A, …) so a change in the machine's load hits both tables alike.
    for (let r = 0; r < ROUNDS; r++) for (const b of r % 2 ? [parts, flat] : [flat, parts]) await fullRound(b);
    for (const round of ['spread', 'recent'] as const) for (const b of beds) await incremental(b, round);
    const differences = (await report(flat)) + (await report(parts));
    console.log(`load average (1 min) at end: ${loadavg()}`);
    for (const l of [
      `partitioned (${parts.partitions} partitions) ÷ unpartitioned, same events, same run (${ROUNDS} alternating rounds, medians):`,
      `  full rollup throughput:            ${(median(flat.fullS) / median(parts.fullS)).toFixed(3)} (goal ≥ 0.9)`,
      `  bare GROUP BY throughput:          ${(median(flat.bareS) / median(parts.bareS)).toFixed(3)} (information)`,
      `  incremental throughput, spread:    ${(flat.incS / parts.incS).toFixed(3)} (information, one run each)`,
      `  incremental throughput, recent:    ${(flat.recS / parts.recS).toFixed(3)} (information, one run each)`,
      `  event load throughput (inserts):   ${(flat.loadS / parts.loadS).toFixed(3)} (information: the key claim per row; loads not alternated)`,
    ])
      console.log(l);
    if (differences) process.exitCode = 1;
  } finally {
    for (const b of beds) await drop(b, config.databaseUrl);
  }
}

// Bundled and run under plain Node (the billing code as the bundles ship it), never under tsx.
if (!runAsBundle(__filename)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
