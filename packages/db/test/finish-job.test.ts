/**
 * finishJob is one statement: the job's last checkpoint, its terminal state and its outbox (webhook
 * event + pending delivery + the relay's wake-up) in a single round trip. What it stores must be
 * what the transaction it replaced stored, for every kind of ending: the event's body, rendered by
 * its first delivery, is the API's view of the committed job, the event and delivery rows carry the job's finished_at, a
 * delivery (and its notification) exists iff the caller names its URL (deliverTo), and only the first terminal transition
 * writes anything.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Client, Pool } from 'pg';
import {
  DELIVERY_CHANNEL,
  finishJob,
  getDeliveryToSend,
  getJobById,
  insertJob,
  insertTenant,
  loadJobView,
  newId,
  startAttempt,
  writeCheckpoint,
} from '@agents/db';
import type { Checkpoint, Database, Db, FinishJob, NewJob, NewUsageEvent } from '@agents/db';
import { createTestDatabase, jobRow } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let listener: Client;
const notified: string[] = [];
const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };
const TENANT_URL = 'https://hooks.example.com/tenant';

beforeAll(async () => {
  tdb = await createTestDatabase('finishjob');
  await insertTenant(tdb.db, { id: 'tenant_url', name: 'U', servers: ['asaas'], limits, plan, instructions: null, webhook_url: TENANT_URL });
  await insertTenant(tdb.db, { id: 'tenant_none', name: 'N', servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
  listener = new Client({ connectionString: tdb.url });
  await listener.connect();
  listener.on('notification', (m) => {
    if (m.channel === DELIVERY_CHANNEL) notified.push(m.payload ?? '');
  });
  await listener.query(`LISTEN ${DELIVERY_CHANNEL}`);
});
afterAll(async () => {
  await listener.end();
  await tdb.close();
});

let seqNo = 0;
const job = (id: string, over: Partial<NewJob> = {}): NewJob =>
  jobRow('tenant_url', {
    id,
    steps: JSON.stringify([
      { tool: 'asaas/create_customer', args: { name: 'Ana', n: 1.5 } },
      { tool: 'asaas/create_payment', args: { value: 10 } },
    ]),
    metadata: JSON.stringify({ order: '42', ç: 'ü"\\' }),
    ...over,
  });
const usage = (j: NewJob, seq: number, extra: Partial<NewUsageEvent> = {}): NewUsageEvent => ({
  id: `tc_${j.id}_${seq}`,
  idempotency_key: `${j.id}:${seq}`,
  tenant_id: j.tenant_id,
  environment: j.environment,
  job_id: j.id,
  kind: 'tool_call',
  server: 'asaas',
  tool: 'create_customer',
  success: true,
  duration_ms: 100 + seq,
  metadata: JSON.stringify({ seq }),
  occurred_at: new Date(),
  ...extra,
});
const step = (j: NewJob, seq: number, rows: NewUsageEvent[]): Checkpoint => ({
  jobId: j.id!,
  seq,
  kind: 'workflow_step',
  payload: { seq, ok: true },
  usage: rows,
});

/** Every notification on the delivery channel committed before now has arrived once this returns. */
async function notificationsSoFar(): Promise<string[]> {
  const mark = `mark_${++seqNo}`;
  await sql`SELECT pg_notify(${DELIVERY_CHANNEL}, ${mark})`.execute(tdb.db);
  while (!notified.includes(mark)) await new Promise((r) => setTimeout(r, 2));
  return notified.filter((n) => !n.startsWith('mark_'));
}

/**
 * What the outbox must hold for a job that ended with `finishJob`: one event of the committed row,
 * its body rendered by the first delivery as the API's view of it, and a delivery to `url` when
 * there is one. Returns the event with its rendered body.
 */
async function expectOutbox(jobId: string, url: string | null) {
  const row = (await getJobById(tdb.db, jobId))!;
  const events = await tdb.db.selectFrom('webhook_events').selectAll().where('job_id', '=', jobId).execute();
  expect(events).toHaveLength(1);
  const ev = events[0]!;
  const finished = row.finished_at!;
  expect(ev.id).toMatch(/^evt_[0-9a-z]{26}$/);
  expect(ev).toMatchObject({ tenant_id: row.tenant_id, environment: row.environment, job_id: row.id, type: `job.${row.status}`, payload: null });
  expect(ev.created_at).toEqual(finished);
  const body = { id: ev.id, type: `job.${row.status}`, created_at: finished.toISOString(), data: JSON.parse(JSON.stringify(await loadJobView(tdb.db, row))) };
  const deliveries = await tdb.db.selectFrom('webhook_deliveries').selectAll().where('job_id', '=', jobId).execute();
  if (!url) {
    expect(deliveries).toEqual([]);
    return { ...ev, payload: body };
  }
  expect(deliveries).toHaveLength(1);
  const d = deliveries[0]!;
  expect(d.id).toMatch(/^whd_[0-9a-z]{26}$/);
  expect(d).toMatchObject({
    event_id: ev.id,
    tenant_id: row.tenant_id,
    environment: row.environment,
    job_id: row.id,
    event_type: `job.${row.status}`,
    url,
    status: 'pending',
    attempts: 0,
    last_status_code: null,
    last_error: null,
    enqueued_at: null,
  });
  expect(d.next_attempt_at).toEqual(finished);
  expect(d.created_at).toEqual(finished);
  // The first delivery renders the body and stores it; every later one sends the same.
  expect(JSON.parse(JSON.stringify((await getDeliveryToSend(tdb.db, d.id))!.payload))).toEqual(body);
  const stored = await tdb.db.selectFrom('webhook_events').select('payload').where('id', '=', ev.id).executeTakeFirstOrThrow();
  expect(stored.payload).toEqual(body);
  expect((await getDeliveryToSend(tdb.db, d.id))!.payload).toEqual(body);
  return { ...ev, payload: body };
}

/** Runs `finish` and returns how many deliveries it announced on the channel. */
async function announced(finish: () => Promise<unknown>): Promise<number> {
  const before = (await notificationsSoFar()).length;
  await finish();
  return (await notificationsSoFar()).length - before;
}

test.each<[string, Partial<NewJob>, Omit<FinishJob, 'deliverTo'>, string | null]>([
  ['succeeded, delivered', {}, { status: 'succeeded', output: { customer: 'cus_1', amount: 10.25, list: [1, 'two', null], nested: { ok: true } } }, TENANT_URL],
  [
    'failed with partial output, delivered to a URL with a query',
    { callback_url: 'https://cb.example.com/x?y=1' },
    { status: 'failed', output: { partial: true }, error: { code: 'tool_failed', message: 'The tool said no.' } },
    'https://cb.example.com/x?y=1',
  ],
  [
    'cancelled, no URL: recorded only',
    { tenant_id: 'tenant_none' },
    { status: 'cancelled', error: { code: 'cancelled', message: 'Cancelled on request.' } },
    null,
  ],
  [
    'succeeded with output null, tenant without a URL of its own',
    { tenant_id: 'tenant_none', callback_url: 'https://cb.example.com/only' },
    { status: 'succeeded', output: null },
    'https://cb.example.com/only',
  ],
  ['a plain string output, recorded only', {}, { status: 'succeeded', output: 'plain string' }, null],
  [
    'agent job (no steps key), test environment',
    { type: 'agent', input: 'Create a customer', steps: null, environment: 'test' },
    { status: 'succeeded', output: { message: 'done' } },
    TENANT_URL,
  ],
])('%s: the event is the committed job as the API shows it, with its delivery and wake-up iff deliverTo', async (_name, over, f, url) => {
  const j = job(newId('job'), over);
  await insertJob(tdb.db, j);
  await startAttempt(tdb.db, j.id!);
  // Earlier steps stored on their own (a tool call, a failed one, a model turn with tokens) ...
  await writeCheckpoint(tdb.db, step(j, 0, [usage(j, 0)]));
  await writeCheckpoint(tdb.db, step(j, 1, [usage(j, 1, { success: false, error_code: 'provider_error', tool: 'create_payment' })]));
  await writeCheckpoint(tdb.db, step(j, 2, [usage(j, 2, { kind: 'model_turn', server: null, tool: null, input_tokens: 70, output_tokens: 5 })]));
  // ... and the last one held for the finish, with two rows (one an empty error code: no error object).
  const last = step(j, 3, [usage(j, 3, { error_code: '' }), usage(j, 4, { kind: 'model_turn', server: null, tool: null, input_tokens: 3, output_tokens: 2 })]);
  let finished: Awaited<ReturnType<typeof finishJob>>;
  expect(await announced(async () => (finished = await finishJob(tdb.db, j.id!, { ...f, deliverTo: url }, last)))).toBe(url ? 1 : 0);
  expect(finished!).toEqual(await getJobById(tdb.db, j.id!));
  expect(finished!.status).toBe(f.status);
  const ev = await expectOutbox(j.id!, url);
  // The held step and its usage are stored, and the view counted them exactly once.
  expect((await tdb.db.selectFrom('job_steps').select('seq').where('job_id', '=', j.id!).orderBy('seq').execute()).map((s) => s.seq)).toEqual([0, 1, 2, 3]);
  const data = (ev.payload as { data: { tool_calls: unknown[]; usage: unknown } }).data;
  expect(data.tool_calls).toHaveLength(3);
  expect(data.usage).toEqual({ tool_calls: 3, input_tokens: 73, output_tokens: 7 });
});

test('without a held checkpoint, and for a job cancelled before it ever started', async () => {
  const j = job(newId('job'));
  await insertJob(tdb.db, j);
  expect(
    await announced(() =>
      finishJob(tdb.db, j.id!, { status: 'cancelled', error: { code: 'cancelled', message: 'Cancelled before it started.' }, deliverTo: TENANT_URL }),
    ),
  ).toBe(1);
  const ev = await expectOutbox(j.id!, TENANT_URL);
  expect((ev.payload as { data: unknown }).data).toMatchObject({
    status: 'cancelled',
    started_at: null,
    attempts: 0,
    tool_calls: [],
    usage: { tool_calls: 0, input_tokens: 0, output_tokens: 0 },
    output: null,
  });
});

test('a held checkpoint already stored by an earlier try is not counted twice', async () => {
  const j = job(newId('job'));
  await insertJob(tdb.db, j);
  await startAttempt(tdb.db, j.id!);
  const last = step(j, 0, [usage(j, 0)]);
  await writeCheckpoint(tdb.db, last);
  await finishJob(tdb.db, j.id!, { status: 'succeeded', output: {}, deliverTo: TENANT_URL }, last);
  const ev = await expectOutbox(j.id!, TENANT_URL);
  expect((ev.payload as { data: { usage: unknown } }).data.usage).toEqual({ tool_calls: 1, input_tokens: 0, output_tokens: 0 });
});

test('only the first terminal transition wins: a finish that lost to a cancel stores its step and nothing else', async () => {
  const j = job(newId('job'));
  await insertJob(tdb.db, j);
  await startAttempt(tdb.db, j.id!);
  await finishJob(tdb.db, j.id!, { status: 'cancelled', error: { code: 'cancelled', message: 'Cancelled on request.' }, deliverTo: TENANT_URL });
  const cancelled = await getJobById(tdb.db, j.id!);
  await expectOutbox(j.id!, TENANT_URL);
  const outbox = async () => ({
    events: await tdb.db.selectFrom('webhook_events').selectAll().where('job_id', '=', j.id!).execute(),
    deliveries: await tdb.db.selectFrom('webhook_deliveries').selectAll().where('job_id', '=', j.id!).execute(),
  });
  const first = await outbox();
  let lost: unknown = 'not run';
  expect(
    await announced(
      async () => (lost = await finishJob(tdb.db, j.id!, { status: 'succeeded', output: { late: true }, deliverTo: TENANT_URL }, step(j, 0, [usage(j, 0)]))),
    ),
  ).toBe(0);
  expect(lost).toBeUndefined();
  expect(await getJobById(tdb.db, j.id!)).toEqual(cancelled);
  // The same single event and delivery as before, untouched.
  expect(await outbox()).toEqual(first);
  // The call did happen: its step and usage row are kept (metered), though the job stays cancelled.
  expect(await tdb.db.selectFrom('job_steps').select('seq').where('job_id', '=', j.id!).execute()).toEqual([{ seq: 0 }]);
  expect(await tdb.db.selectFrom('usage_events').select('id').where('job_id', '=', j.id!).execute()).toEqual([{ id: `tc_${j.id}_0` }]);
});

test('all or nothing: a finish whose checkpoint cannot be stored leaves the job running, with no event and no delivery', async () => {
  const j = job(newId('job'));
  await insertJob(tdb.db, j);
  await startAttempt(tdb.db, j.id!);
  await writeCheckpoint(tdb.db, step(j, 0, [usage(j, 0)]));
  // A usage row whose id is taken by another row (a different idempotency key): a unique violation.
  const clash = step(j, 1, [usage(j, 1, { id: `tc_${j.id}_0` })]);
  const before = (await notificationsSoFar()).length;
  await expect(finishJob(tdb.db, j.id!, { status: 'succeeded', output: {}, deliverTo: TENANT_URL }, clash)).rejects.toMatchObject({ code: '23505' });
  expect((await notificationsSoFar()).length).toBe(before);
  expect((await getJobById(tdb.db, j.id!))!).toMatchObject({ status: 'running', finished_at: null });
  expect(await tdb.db.selectFrom('job_steps').select('seq').where('job_id', '=', j.id!).execute()).toEqual([{ seq: 0 }]);
  expect(await tdb.db.selectFrom('webhook_events').select('id').where('job_id', '=', j.id!).execute()).toEqual([]);
  expect(await tdb.db.selectFrom('webhook_deliveries').select('id').where('job_id', '=', j.id!).execute()).toEqual([]);
});

test("inside a caller's transaction the finish and its outbox are part of it (rolled back with it)", async () => {
  const j = job(newId('job'));
  await insertJob(tdb.db, j);
  await startAttempt(tdb.db, j.id!);
  const before = (await notificationsSoFar()).length;
  await expect(
    tdb.db.transaction().execute(async (trx) => {
      expect(await finishJob(trx, j.id!, { status: 'succeeded', output: {}, deliverTo: TENANT_URL }, step(j, 0, [usage(j, 0)]))).toBeDefined();
      throw new Error('the caller gives up');
    }),
  ).rejects.toThrow('the caller gives up');
  expect((await notificationsSoFar()).length).toBe(before);
  expect((await getJobById(tdb.db, j.id!))!.status).toBe('running');
  expect(await tdb.db.selectFrom('job_steps').select('seq').where('job_id', '=', j.id!).execute()).toEqual([]);
  expect(await tdb.db.selectFrom('webhook_events').select('id').where('job_id', '=', j.id!).execute()).toEqual([]);
});

test('a finish with its last checkpoint, outbox event and delivery is one round trip to Postgres', async () => {
  // A pool of one connection whose server replies are counted: each ReadyForQuery ends one round trip.
  let roundTrips = 0;
  const pool = new Pool({ connectionString: tdb.url, max: 1 });
  pool.on('connect', (c) => (c as unknown as { connection: NodeJS.EventEmitter }).connection.on('readyForQuery', () => roundTrips++));
  const db: Db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    const j = job(newId('job'));
    await insertJob(db, j);
    await startAttempt(db, j.id!);
    const before = roundTrips;
    expect(await finishJob(db, j.id!, { status: 'succeeded', output: { ok: true }, deliverTo: TENANT_URL }, step(j, 0, [usage(j, 0)]))).toBeDefined();
    expect(roundTrips - before).toBe(1);
    await expectOutbox(j.id!, TENANT_URL);
  } finally {
    await db.destroy();
  }
});
