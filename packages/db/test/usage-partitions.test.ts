/**
 * Migration 0015 against a real Postgres: usage_events as the previous release left it (rows of
 * several months) becomes a table partitioned by UTC month with every row kept as it was; the
 * idempotency key still admits one row per key, whatever occurred_at a second write carries and
 * whichever month that falls in, also between racing transactions; rows outside every partition
 * land in the default one and move into their month's partition when it is created.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { Client } from 'pg';
import {
  countDefaultPartitionRows,
  createDb,
  ensureDatabase,
  ensureUsagePartitions,
  finishJob,
  insertJob,
  insertTenant,
  listUsagePartitions,
  migrate,
  MIGRATIONS,
  startAttempt,
  usagePartitionName,
  writeCheckpoint,
  writeUsageRows,
} from '@agents/db';
import type { Db, NewUsageEvent } from '@agents/db';
import { dropDatabase, jobRow, TEST_PG_BASE } from '@agents/testkit';

jest.setTimeout(60_000);

const name = `usageparts_${randomBytes(6).toString('hex')}`;
const url = `${TEST_PG_BASE}/${name}`;
let db: Db;
const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

/** The first instant of the UTC month `delta` months from now, plus `plusMs`. */
function monthStart(delta: number, plusMs = 0): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + delta, 1) + plusMs);
}
const monthOf = (d: Date) => d.toISOString().slice(0, 7);

const usage = (key: string, at: Date, extra: Partial<NewUsageEvent> = {}): NewUsageEvent => ({
  id: `tc_${key.replace(/\W/g, '_')}`,
  idempotency_key: key,
  tenant_id: 'tenant_p',
  environment: 'live',
  job_id: 'job_p',
  kind: 'tool_call',
  server: 'asaas',
  tool: 'create_payment',
  success: true,
  duration_ms: 7,
  metadata: JSON.stringify({ key }),
  occurred_at: at,
  ...extra,
});

/** The rows as the previous release stored them: three months back to this one, one at a month's last microsecond. */
const OLD_ROWS = [
  { key: 'job_p:0', at: monthStart(-3, 5_000) },
  { key: 'job_p:1', at: monthStart(-1, -1) },
  { key: 'job_p:2', at: monthStart(-1, 1) },
  { key: 'job_p:3', at: new Date() },
];
type Row = Record<string, unknown>;
let before: Row[];

/** Every row with the partition holding it (`part`, last). */
const allRows = async (): Promise<Row[]> =>
  (await sql<Row>`SELECT *, tableoid::regclass::text AS part FROM usage_events ORDER BY seq`.execute(db)).rows.map(({ part, ...r }) => ({ ...r, part }));
const rowsOfKey = async (key: string) => (await sql<Row>`SELECT id, occurred_at FROM usage_events WHERE idempotency_key = ${key}`.execute(db)).rows;

beforeAll(async () => {
  await ensureDatabase(url);
  await migrate(
    url,
    MIGRATIONS.filter((m) => m.id < '0015'),
  );
  db = createDb({ url, max: 4 });
  await insertTenant(db, { id: 'tenant_p', name: 'P', servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
  await insertJob(db, jobRow('tenant_p', { id: 'job_p' }));
  // Each row in its own transaction: distinct txids, as real checkpoints have.
  for (const r of OLD_ROWS) await writeUsageRows(db, [usage(r.key, r.at, { session_id: r.key.endsWith('3') ? 'ses_x' : null })]);
  before = (await sql<Row>`SELECT * FROM usage_events ORDER BY seq`.execute(db)).rows;
  expect(before).toHaveLength(4);
  expect(
    await migrate(
      url,
      MIGRATIONS.filter((m) => m.id < '0016'),
    ),
  ).toEqual(['0015-usage-partitions']);
  // The later ones, so the writers below run against the schema they were written for.
  await migrate(url, MIGRATIONS);
});

afterAll(async () => {
  await db?.destroy();
  await dropDatabase(name);
});

test('every row is kept as it was (seq, id, txid, times, session), each in the partition of its UTC month', async () => {
  const after = await allRows();
  expect(after.map(({ part, ...r }) => r)).toEqual(before);
  expect(after.map((r) => r.part)).toEqual(OLD_ROWS.map((r) => usagePartitionName(monthOf(r.at))));
  // Partitions from the oldest row's month through two months ahead, then the default one.
  const parts = await listUsagePartitions(db);
  expect(parts.map((p) => p.month)).toEqual([...[-3, -2, -1, 0, 1, 2].map((d) => monthOf(monthStart(d))), null]);
  expect(parts.every((p) => p.attached)).toBe(true);
  expect(await countDefaultPartitionRows(db)).toBe(0);
  // The keys (and ids) of the old rows are claimed.
  const keys = await db.selectFrom('usage_event_keys').select(['idempotency_key', 'id']).orderBy('idempotency_key').execute();
  expect(keys).toEqual(OLD_ROWS.map((r) => ({ idempotency_key: r.key, id: usage(r.key, r.at).id })));
});

test('the sequence carries on above the copied rows, and every index exists on a new partition', async () => {
  await writeUsageRows(db, [usage('job_p:seq', new Date())]);
  const [row] = (await sql<{ seq: string }>`SELECT seq::text FROM usage_events WHERE idempotency_key = 'job_p:seq'`.execute(db)).rows;
  expect(BigInt(row!.seq)).toBeGreaterThan(BigInt(before.at(-1)!.seq as string));
  const idx = await sql<{
    indexdef: string;
  }>`SELECT indexdef FROM pg_indexes WHERE tablename = ${usagePartitionName(monthOf(monthStart(2)))} ORDER BY indexname`.execute(db);
  expect(idx.rows.map((r) => r.indexdef.replace(/^.* USING /, ''))).toEqual([
    "btree (environment, occurred_at, seq) WHERE (kind = 'tool_call'::text)",
    'btree (id, occurred_at)',
    'btree (job_id, seq)',
    'btree (seq, occurred_at)',
    'btree (session_id, seq) WHERE (session_id IS NOT NULL)',
    'btree (tenant_id, occurred_at)',
    'btree (txid)',
  ]);
});

test('a key written again is dropped whatever its occurred_at, also in another month; a taken id under a new key is refused', async () => {
  // A migrated row's key, again with a time in another month (a re-run step's new call time).
  await writeUsageRows(db, [usage('job_p:1', monthStart(0, 1), { id: 'tc_rerun_1' })]);
  expect(await rowsOfKey('job_p:1')).toEqual([{ id: usage('job_p:1', OLD_ROWS[1]!.at).id, occurred_at: OLD_ROWS[1]!.at }]);
  // Every writer: a checkpoint, its retry, and the finish carrying the same row once more.
  await startAttempt(db, 'job_p');
  const row = usage('job_p:10', new Date());
  await writeCheckpoint(db, { jobId: 'job_p', seq: 10, kind: 'tool_call', payload: {}, usage: [row] });
  await writeCheckpoint(db, { jobId: 'job_p', seq: 10, kind: 'tool_call', payload: {}, usage: [{ ...row, occurred_at: monthStart(1, 9) }] });
  await finishJob(
    db,
    'job_p',
    { status: 'succeeded', output: {}, deliverTo: null },
    { jobId: 'job_p', seq: 10, kind: 'tool_call', payload: {}, usage: [{ ...row, occurred_at: monthStart(-1) }] },
  );
  expect(await rowsOfKey('job_p:10')).toEqual([{ id: row.id, occurred_at: row.occurred_at }]);
  // A model turn's row takes now() at each write: still one row.
  const turn = { ...usage('job_p:11', new Date(), { kind: 'model_turn', server: null, tool: null }), occurred_at: undefined };
  await writeUsageRows(db, [turn]);
  await writeUsageRows(db, [{ ...turn, id: 'mt_other' }]);
  expect(await rowsOfKey('job_p:11')).toHaveLength(1);
  // The id is unique across months, as it was on the unpartitioned table.
  await expect(writeUsageRows(db, [usage('job_p:12', monthStart(1), { id: row.id })])).rejects.toMatchObject({ code: '23505' });
  expect(await rowsOfKey('job_p:12')).toEqual([]);
});

test('racing writers of one key: the second waits for the first; its commit wins, its rollback leaves the key to the second', async () => {
  const a = new Client({ connectionString: url });
  const b = new Client({ connectionString: url });
  await a.connect();
  await b.connect();
  const insert = (c: Client, key: string, id: string, at: Date) =>
    c.query(
      `INSERT INTO usage_events (id, idempotency_key, tenant_id, environment, job_id, kind, success, occurred_at)
       VALUES ($1, $2, 'tenant_p', 'live', 'job_p', 'tool_call', true, $3)`,
      [id, key, at],
    );
  try {
    for (const outcome of ['COMMIT', 'ROLLBACK'] as const) {
      const key = `race:${outcome}`;
      await a.query('BEGIN');
      await insert(a, key, `tc_a_${outcome}`, monthStart(0, 1000));
      // b's row is for another month (another partition): only the key table can make them meet.
      let bDone = false;
      const bInsert = insert(b, key, `tc_b_${outcome}`, monthStart(1, 1000)).then((r) => {
        bDone = true;
        return r.rowCount;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(bDone).toBe(false);
      const waiting = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`.execute(db);
      expect(Number(waiting.rows[0]!.n)).toBeGreaterThanOrEqual(1);
      await a.query(outcome);
      expect(await bInsert).toBe(outcome === 'COMMIT' ? 0 : 1);
      expect((await rowsOfKey(key)).map((r) => r.id)).toEqual([outcome === 'COMMIT' ? `tc_a_${outcome}` : `tc_b_${outcome}`]);
    }
  } finally {
    await a.end();
    await b.end();
  }
});

test('a row outside every partition is kept in the default one and moves, unchanged, into its month when that is created', async () => {
  const far = monthStart(7, 3_600_000);
  await writeUsageRows(db, [usage('job_p:far', far)]);
  const [parked] = (await allRows()).filter((r) => r.idempotency_key === 'job_p:far');
  expect(parked!.part).toBe('usage_events_default');
  expect(await countDefaultPartitionRows(db)).toBe(1);

  // Two schedulers at once: the month is created once, the row moves once.
  const created = await Promise.all([
    ensureUsagePartitions(db, { now: monthStart(6), monthsAhead: 2 }),
    ensureUsagePartitions(db, { now: monthStart(6), monthsAhead: 2 }),
  ]);
  expect(created.flat().sort()).toEqual([6, 7, 8].map((d) => usagePartitionName(monthOf(monthStart(d)))));
  const [moved] = (await allRows()).filter((r) => r.idempotency_key === 'job_p:far');
  expect(moved).toEqual({ ...parked, part: usagePartitionName(monthOf(far)) });
  expect(await countDefaultPartitionRows(db)).toBe(0);
  // The moved row's key is still claimed, and a month that exists is left alone.
  await writeUsageRows(db, [usage('job_p:far', far, { id: 'tc_far_again' })]);
  expect(await rowsOfKey('job_p:far')).toHaveLength(1);
  expect(await ensureUsagePartitions(db, { now: monthStart(6), monthsAhead: 2 })).toEqual([]);
});

test('a month name that is not YYYY-MM is refused before any SQL is built from it', () => {
  expect(() => usagePartitionName("2026-01'; DROP TABLE usage_events; --")).toThrow(expect.objectContaining({ code: 'invalid_month' }));
  expect(() => usagePartitionName('2026-13')).toThrow(expect.objectContaining({ code: 'invalid_month' }));
});
