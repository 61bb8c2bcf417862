/**
 * Billing rollup benchmark: `npx tsx scripts/bench/rollup.ts [events=5000000] [tenants=1000] [incremental=50000] [months=24]`
 *
 * Runs twice in one process, each in a throwaway database (on the server of DATABASE_URL) with
 * the same synthetic events: first with usage_events as it was before migration 0015 (one table),
 * then partitioned by month (every migration, plus empty partitions for the `months` months
 * before the events': a table that has kept years of usage). N events across T tenants, each
 * tenant using 3 of the 6 servers, spread over one day, committed in batches of 500k. Then:
 *   1. baseline: a bare INSERT … SELECT … GROUP BY of the same events into an empty copy of usage_rollups
 *   2. full:     runRollup from an empty watermark over all of them (the production code path)
 *   3. incremental: M new events spread over the day, then a run; M more in the day's last hour, then a run
 * Prints events/s for each, the ratios of each table (goals: full ÷ bare ≥ 0.8, incremental time ÷
 * full time ≤ 2%) and partitioned ÷ unpartitioned (issue 21, goal ≥ 0.9 of the full run's
 * throughput; the incremental runs' and the load's ratios as information). A reconciliation at the
 * end of each must find no difference.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { loadConfig } from '@agents/config';
import { createDb, ensureDatabase, ensureUsagePartitions, migrate, MIGRATIONS } from '@agents/db';
import type { Migration } from '@agents/db';
import { reconcileUsage, runRollup } from '@agents/billing';
import { runAsBundle } from '../../apps/bench/src/bundles';

const [EVENTS = 5_000_000, TENANTS = 1_000, INCREMENTAL = 50_000, MONTHS = 24] = process.argv.slice(2).map(Number);
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

interface VariantResult {
  loadS: number;
  bareS: number;
  fullS: number;
  incS: number;
  recS: number;
  groups: number;
  incGroups: number;
  recGroups: number;
  partitions: number;
  reconciled: number;
  differences: number;
}

async function runVariant(v: Variant, databaseUrl: string): Promise<VariantResult> {
  const name = `bench_rollup_${randomBytes(4).toString('hex')}`;
  const url = new URL(databaseUrl);
  const adminUrl = new URL(databaseUrl);
  url.pathname = `/${name}`;
  adminUrl.pathname = '/postgres';
  await ensureDatabase(url.toString());
  await migrate(url.toString(), v.migrations);
  const db = createDb({ url: url.toString(), max: 2 });
  const pg = new Client({ connectionString: url.toString() });
  await pg.connect();
  try {
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
    console.log(`[${v.label}] loaded in ${loadS.toFixed(1)} s`);
    await quiesce(pg);

    // 1. Baseline: the bare statement, same events, same grouping, same work_mem, into an empty table with the same key.
    await sql`CREATE TABLE bare_rollups (LIKE usage_rollups INCLUDING ALL)`.execute(pg);
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

    // 2. Full rollup from scratch.
    const [full, fullS] = await timed(() => runRollup(db));
    if (full.events !== EVENTS) throw new Error(`full run took ${full.events} events, expected ${EVENTS}`);

    // 3. Incremental, twice: M new events spread over the whole day (worst case: almost every
    // event lands in a different rollup row), then M more in the day's last hour (what a run
    // every minute sees: recent events), each followed by a run.
    await eventsSql(EVENTS + 1, EVENTS + INCREMENTAL, DAY).execute(pg);
    await quiesce(pg);
    const [inc, incS] = await timed(() => runRollup(db));
    if (inc.events !== INCREMENTAL) throw new Error(`incremental run took ${inc.events} events, expected ${INCREMENTAL}`);
    const lastHour = new Date(new Date(DAY).getTime() + 23 * 3_600_000).toISOString();
    await eventsSql(EVENTS + INCREMENTAL + 1, EVENTS + 2 * INCREMENTAL, lastHour, 3_600).execute(pg);
    await quiesce(pg);
    const [rec2, recS] = await timed(() => runRollup(db));
    if (rec2.events !== INCREMENTAL) throw new Error(`recent-events run took ${rec2.events} events, expected ${INCREMENTAL}`);

    const rec = await reconcileUsage(db, { from: new Date(DAY), to: new Date(new Date(DAY).getTime() + 86_400_000) });
    const r: VariantResult = {
      loadS,
      bareS,
      fullS,
      incS,
      recS,
      groups: full.groups,
      incGroups: inc.groups,
      recGroups: rec2.groups,
      partitions,
      reconciled: rec.events,
      differences: rec.differences.length,
    };
    const bareRate = EVENTS / bareS;
    const fullRate = EVENTS / fullS;
    for (const l of [
      `bare INSERT…SELECT…GROUP BY: ${EVENTS.toLocaleString()} events in ${bareS.toFixed(2)} s = ${Math.round(bareRate).toLocaleString()} events/s`,
      `full rollup:                 ${EVENTS.toLocaleString()} events in ${fullS.toFixed(2)} s = ${Math.round(fullRate).toLocaleString()} events/s (${full.groups.toLocaleString()} rollup rows)`,
      `incremental rollup:          ${INCREMENTAL.toLocaleString()} events in ${incS.toFixed(3)} s = ${Math.round(INCREMENTAL / incS).toLocaleString()} events/s (${inc.groups.toLocaleString()} rows updated)`,
      `incremental, recent events:  ${INCREMENTAL.toLocaleString()} events in ${recS.toFixed(3)} s = ${Math.round(INCREMENTAL / recS).toLocaleString()} events/s (${rec2.groups.toLocaleString()} rows touched)`,
      `ratio full ÷ bare throughput:      ${(fullRate / bareRate).toFixed(3)} (goal ≥ 0.8)`,
      `ratio incremental ÷ full time:     ${((incS / fullS) * 100).toFixed(2)}% spread over the day, ${((recS / fullS) * 100).toFixed(2)}% recent (goal ≤ 2%)`,
      `reconciliation: ${rec.events.toLocaleString()} events, ${rec.differences.length} differences`,
    ])
      console.log(`[${v.label}] ${l}`);
    return r;
  } finally {
    await pg.end();
    await db.destroy();
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  console.log(`load average (1 min) at start: ${loadavg()}`);
  const flat = await runVariant({ label: 'unpartitioned', migrations: MIGRATIONS.filter((m) => m.id < '0015-usage-partitions') }, config.databaseUrl);
  const parts = await runVariant({ label: 'partitioned', migrations: MIGRATIONS, monthsBefore: MONTHS }, config.databaseUrl);
  console.log(`load average (1 min) at end: ${loadavg()}`);
  const lines = [
    `partitioned (${parts.partitions} partitions) ÷ unpartitioned, same events, same run:`,
    `  full rollup throughput:            ${(flat.fullS / parts.fullS).toFixed(3)} (goal ≥ 0.9)`,
    `  incremental throughput, spread:    ${(flat.incS / parts.incS).toFixed(3)} (information)`,
    `  incremental throughput, recent:    ${(flat.recS / parts.recS).toFixed(3)} (information)`,
    `  bare GROUP BY throughput:          ${(flat.bareS / parts.bareS).toFixed(3)} (information)`,
    `  event load throughput (inserts):   ${(flat.loadS / parts.loadS).toFixed(3)} (information: the key claim per row)`,
  ];
  for (const l of lines) console.log(l);
  if (flat.differences || parts.differences) process.exitCode = 1;
}

// Bundled and run under plain Node (the billing code as the bundles ship it), never under tsx.
if (!runAsBundle(__filename)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
