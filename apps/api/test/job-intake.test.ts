/**
 * Batched job submission (issue #11): concurrent submissions share one INSERT, one enqueue and one
 * markEnqueued, with each request keeping its own Idempotency-Key outcome and the failure
 * semantics of API.md (a 503 wrote nothing; a committed row whose enqueue failed is the
 * reconciler's). Real Postgres and Redis; the unreachable Redis is a real closed port.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { sql } from 'kysely';
import { Queue } from 'bullmq';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import type { NewJob } from '@agents/db';
import { coordinationKeys, createProducer, createRedis, reconcileUnqueued, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import type { Producer, RedisConnection } from '@agents/queue';
import { createLogger, silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, jobRow, testConfig, testRedisPrefix, TEST_OPERATOR_KEY, TEST_REDIS_URL, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { createJobIntake } from '@agents/jobs';

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let call: ReturnType<typeof apiClient>;
let redis: RedisConnection;
let producer: Producer;
const queues: Queue[] = [];

const A = 'tenant_batch_a';
const B = 'tenant_batch_b';

beforeAll(async () => {
  tdb = await createTestDatabase('intake');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  call = apiClient(api.url);
  for (const id of [A, B]) expect((await call('POST', '/v1/admin/tenants', { body: { id, servers: ['asaas'] } })).status).toBe(201);
  redis = createRedis(TEST_REDIS_URL, silentLogger(), 'test');
  producer = createProducer({ redis, redisPrefix: prefix, attempts: 1 });
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await producer?.close();
  redis?.disconnect();
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

function queueOf(tenant: string): Queue {
  const q = new Queue(tenantQueueName(tenant), { connection: redis, prefix: tenantBullPrefix(prefix, tenant) });
  queues.push(q);
  return q;
}

/** A job row as the route builds it. */
const jobFor = (tenant: string, key: string | null, hash: string | null): NewJob => jobRow(tenant, { idempotency_key: key, request_hash: hash });

const body = (order: string) => ({ type: 'workflow', metadata: { order_id: order }, steps: [{ tool: 'asaas/list_customers', args: {} }] });

async function rowsWithKey(key: string) {
  return tdb.db.selectFrom('jobs').selectAll().where('idempotency_key', '=', key).execute();
}

test('one batch: the same key with the same body is one job; with another body it is refused; keyless jobs of two tenants land in their own queues', async () => {
  const intake = createJobIntake({ db: tdb.db, producer, logger: silentLogger() });
  // Submitted in the same tick: they go out as ONE batch.
  const jobs = [
    jobFor(A, 'k-same', 'h1'),
    jobFor(A, 'k-same', 'h1'),
    jobFor(A, 'k-diff', 'h1'),
    jobFor(A, 'k-diff', 'h2'),
    jobFor(A, null, null),
    jobFor(B, null, null),
  ];
  const results = await Promise.all(jobs.map((j) => intake.submit(j)));

  expect(results.map((r) => r.kind)).toEqual(['created', 'replayed', 'created', 'key_reused', 'created', 'created']);
  expect(results[1]!.job.id).toBe(results[0]!.job.id);
  expect(results[3]!.job.id).toBe(results[2]!.job.id);
  expect(await rowsWithKey('k-same')).toHaveLength(1);
  expect(await rowsWithKey('k-diff')).toHaveLength(1);

  const created = [results[0]!, results[2]!, results[4]!, results[5]!].map((r) => r.job);
  // Each job is in its tenant's queue exactly once, the tenants are announced, and the rows say so.
  for (const job of created) {
    const queued = await queueOf(job.tenant_id).getJob(job.id);
    expect(queued?.data).toEqual({ job_id: job.id, tenant_id: job.tenant_id });
  }
  expect(await queueOf(A).count()).toBe(3);
  expect(await queueOf(B).count()).toBe(1);
  expect((await redis.smembers(coordinationKeys(prefix).activeTenants)).sort()).toEqual([A, B]);
  // The enqueued marks are written after the answers: once they settle, every row has its mark.
  await intake.settled();
  const rows = await tdb.db
    .selectFrom('jobs')
    .select(['id', 'enqueued_at'])
    .where(
      'id',
      'in',
      created.map((j) => j.id),
    )
    .execute();
  expect(rows).toHaveLength(4);
  for (const r of rows) expect(r.enqueued_at).not.toBeNull();

  // A later batch replays the first one's key like a single insert would.
  const again = await intake.submit(jobFor(A, 'k-same', 'h1'));
  expect(again).toMatchObject({ kind: 'replayed', job: { id: results[0]!.job.id } });
  const refused = await intake.submit(jobFor(A, 'k-same', 'h3'));
  expect(refused.kind).toBe('key_reused');
});

test('over HTTP, concurrent requests with one Idempotency-Key: same body → one job for both; different body → one 202 and one 422 idempotency_key_reused', async () => {
  const post = (key: string, order: string) => call('POST', `/v1/tenants/${A}/jobs`, { body: body(order), headers: { 'idempotency-key': key } });
  const same = await Promise.all([post('http-same', 'o-1'), post('http-same', 'o-1'), post('http-same', 'o-1')]);
  expect(same.map((r) => r.status)).toEqual([202, 202, 202]);
  expect(new Set(same.map((r) => r.body.id)).size).toBe(1);
  expect(await rowsWithKey('http-same')).toHaveLength(1);

  const diff = await Promise.all([post('http-diff', 'o-1'), post('http-diff', 'o-2')]);
  expect(diff.map((r) => r.status).sort()).toEqual([202, 422]);
  expect(diff.find((r) => r.status === 422)!.body.error.code).toBe('idempotency_key_reused');
  const rows = await rowsWithKey('http-diff');
  expect(rows).toHaveLength(1);
  expect(rows[0]!.id).toBe(diff.find((r) => r.status === 202)!.body.id);
});

test('a batch whose INSERT fails (its connection is terminated) answers 503 to every request in it and writes nothing', async () => {
  const admin = new Client({ connectionString: tdb.url });
  // pg_stat_activity is read from its own connection: inside a transaction it would be a snapshot.
  const observer = new Client({ connectionString: tdb.url });
  await admin.connect();
  await observer.connect();
  try {
    // Hold writes to the table (reads go on) so the batch's INSERT waits where we can see it, then
    // kill its connection.
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE jobs IN SHARE MODE');
    const keys = ['dbfail-1', 'dbfail-2', 'dbfail-3', 'dbfail-4'];
    const pending = Promise.all(keys.map((k, i) => call('POST', `/v1/tenants/${B}/jobs`, { body: body(`f-${i}`), headers: { 'idempotency-key': k } })));
    const waiting = async () =>
      (
        await observer.query<{ pid: number; query: string }>(
          `SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'insert into%jobs%'`,
        )
      ).rows;
    // The four requests reach the table as batched INSERTs (as many batches as the timing made;
    // a batch carries its rows as a parameter, invisible here): every one that waits on the lock is
    // killed until all four requests have their answer.
    let answered = false;
    const answers = pending.finally(() => (answered = true));
    let killed = 0;
    await waitFor(
      async () => {
        for (const q of await waiting()) {
          await observer.query('SELECT pg_terminate_backend($1)', [q.pid]);
          killed++;
        }
        return answered;
      },
      { what: 'every batched INSERT to be killed and all four requests answered' },
    );
    expect(killed).toBeGreaterThanOrEqual(1);
    await admin.query('ROLLBACK');

    for (const r of await answers) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('service_unavailable');
    }
    const written = await tdb.db.selectFrom('jobs').select('id').where('idempotency_key', 'in', keys).execute();
    expect(written).toHaveLength(0);
    // The API recovers: the same requests retried now succeed, once each.
    const retried = await Promise.all(keys.map((k, i) => call('POST', `/v1/tenants/${B}/jobs`, { body: body(`f-${i}`), headers: { 'idempotency-key': k } })));
    expect(retried.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    expect(await tdb.db.selectFrom('jobs').select('id').where('idempotency_key', 'in', keys).execute()).toHaveLength(4);
  } finally {
    await admin.end();
    await observer.end();
  }
});

test('when the enqueue fails the committed rows are answered and left for the reconciler, which enqueues them', async () => {
  // A Redis of our own that goes away after the producer has used it (as in an outage).
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  const deadRedis = createRedis(`redis://127.0.0.1:${port}`, silentLogger(), 'dead', { failFastMs: 200 });
  const deadProducer = createProducer({ redis: deadRedis, redisPrefix: prefix, attempts: 1 });
  await waitFor(async () => (await deadRedis.ping().catch(() => undefined)) === 'PONG', { what: 'the private redis-server' });
  await deadProducer.enqueueRuns([
    { job_id: 'warm-a', tenant_id: A },
    { job_id: 'warm-b', tenant_id: B },
  ]);
  server.kill('SIGKILL');
  await exited;
  try {
    const intake = createJobIntake({ db: tdb.db, producer: deadProducer, logger: silentLogger() });
    const results = await Promise.all([jobFor(A, 'lost-1', 'h'), jobFor(B, 'lost-2', 'h'), jobFor(B, null, null)].map((j) => intake.submit(j)));
    expect(results.map((r) => r.kind)).toEqual(['created', 'created', 'created']);
    await intake.settled();
    const ids = results.map((r) => r.job.id);
    const before = await tdb.db.selectFrom('jobs').select(['id', 'enqueued_at']).where('id', 'in', ids).execute();
    expect(before).toHaveLength(3);
    for (const r of before) expect(r.enqueued_at).toBeNull();
    for (const r of results) expect(await queueOf(r.job.tenant_id).getJob(r.job.id)).toBeUndefined();

    // A retry of a request whose job never reached its queue enqueues it (as a single insert would).
    const retry = await createJobIntake({ db: tdb.db, producer, logger: silentLogger() }).submit(jobFor(A, 'lost-1', 'h'));
    expect(retry).toMatchObject({ kind: 'replayed', job: { id: ids[0] } });
    expect(await queueOf(A).getJob(ids[0]!)).toBeDefined();

    // The reconciler (grace 0) picks up the rest.
    await reconcileUnqueued({ db: tdb.db, producer, logger: silentLogger(), graceMs: 0 });
    for (const r of results) expect((await queueOf(r.job.tenant_id).getJob(r.job.id))?.data).toEqual({ job_id: r.job.id, tenant_id: r.job.tenant_id });
    const after = await tdb.db.selectFrom('jobs').select(['id', 'enqueued_at']).where('id', 'in', ids).execute();
    for (const r of after) expect(r.enqueued_at).not.toBeNull();
  } finally {
    server.kill('SIGKILL');
    deadRedis.disconnect();
    await deadProducer.close().catch(() => undefined);
  }
});

test('the answer does not wait for the enqueued mark; settled() waits for it', async () => {
  // The mark's UPDATE waits for an advisory lock the test holds: the INSERT and the enqueue do not.
  const holder = new Client({ connectionString: tdb.url });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock(4242)');
  await sql`CREATE FUNCTION wait_for_test_lock() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_unlock(4242); RETURN NEW; END $$`.execute(tdb.db);
  await sql`CREATE TRIGGER wait_for_test_lock BEFORE UPDATE OF enqueued_at ON jobs FOR EACH ROW EXECUTE FUNCTION wait_for_test_lock()`.execute(tdb.db);
  try {
    const intake = createJobIntake({ db: tdb.db, producer, logger: silentLogger() });
    const created = await intake.submit(jobFor(A, 'held-mark', 'h'));
    expect(created.kind).toBe('created');
    expect(await queueOf(A).getJob(created.job.id)).toBeDefined();
    await waitFor(
      async () =>
        (
          await holder.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'update "jobs" set "enqueued_at"%'`,
          )
        ).rowCount === 1,
      { what: 'the mark to wait for the lock' },
    );
    let settled = false;
    const settling = intake.settled().then(() => (settled = true));
    expect((await tdb.db.selectFrom('jobs').select('enqueued_at').where('id', '=', created.job.id).executeTakeFirstOrThrow()).enqueued_at).toBeNull();
    expect(settled).toBe(false);
    await holder.query('SELECT pg_advisory_unlock(4242)');
    await settling;
    expect((await tdb.db.selectFrom('jobs').select('enqueued_at').where('id', '=', created.job.id).executeTakeFirstOrThrow()).enqueued_at).not.toBeNull();
  } finally {
    await holder.end();
    await sql`DROP TRIGGER wait_for_test_lock ON jobs`.execute(tdb.db);
    await sql`DROP FUNCTION wait_for_test_lock()`.execute(tdb.db);
  }
});

test('when recording the enqueue fails after the answer, it is logged and the reconciler marks the job without a second queue entry', async () => {
  // A real Postgres refusal of exactly that UPDATE: the INSERT and the enqueue succeed.
  await sql`CREATE FUNCTION refuse_enqueued_mark() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'enqueued_at refused by the test'; END $$`.execute(tdb.db);
  await sql`CREATE TRIGGER refuse_enqueued_mark BEFORE UPDATE OF enqueued_at ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_enqueued_mark()`.execute(tdb.db);
  const lines: Array<{ level: string; msg: string; job_ids?: string[]; err?: { message: string } }> = [];
  const logger = createLogger({
    name: 'intake-test',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    }),
  });
  let ids: string[];
  try {
    const intake = createJobIntake({ db: tdb.db, producer, logger });
    const results = await Promise.all([jobFor(A, 'mark-1', 'h'), jobFor(B, null, null)].map((j) => intake.submit(j)));
    expect(results.map((r) => r.kind)).toEqual(['created', 'created']);
    ids = results.map((r) => r.job.id);
    await intake.settled();
    // Answered and queued, but not marked; the failure names the jobs.
    for (const r of results) expect(await queueOf(r.job.tenant_id).getJob(r.job.id)).toBeDefined();
    const unmarked = await tdb.db.selectFrom('jobs').select(['id', 'enqueued_at']).where('id', 'in', ids).execute();
    expect(unmarked.map((r) => r.enqueued_at)).toEqual([null, null]);
    const warned = lines.filter((l) => l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ err: { message: 'enqueued_at refused by the test' } });
    expect([...warned[0]!.job_ids!].sort()).toEqual([...ids].sort());
  } finally {
    await sql`DROP TRIGGER refuse_enqueued_mark ON jobs`.execute(tdb.db);
    await sql`DROP FUNCTION refuse_enqueued_mark()`.execute(tdb.db);
  }
  // The reconciler finds the unmarked rows, adds them again (a no-op: the queue has them) and marks them.
  const entriesBefore = await Promise.all(ids.map(async (id, i) => (await queueOf(i === 0 ? A : B).getJob(id))!.timestamp));
  const countsBefore = [await queueOf(A).count(), await queueOf(B).count()];
  expect(await reconcileUnqueued({ db: tdb.db, producer, logger: silentLogger(), graceMs: 0 })).toBeGreaterThanOrEqual(2);
  expect([await queueOf(A).count(), await queueOf(B).count()]).toEqual(countsBefore);
  expect(await Promise.all(ids.map(async (id, i) => (await queueOf(i === 0 ? A : B).getJob(id))!.timestamp))).toEqual(entriesBefore);
  const marked = await tdb.db.selectFrom('jobs').select(['id', 'enqueued_at']).where('id', 'in', ids).execute();
  for (const r of marked) expect(r.enqueued_at).not.toBeNull();
});

test('a created job is answered 202 with Location, then Content-Type and Content-Length, and its JSON body (as res.json sent it)', async () => {
  const http = await import('node:http');
  const url = new URL(`${api.url}/v1/tenants/${A}/jobs`);
  const payload = JSON.stringify(body('hdr'));
  const answer = await new Promise<{ status: number; raw: string[]; text: string }>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, raw: res.rawHeaders, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
  expect(answer.status).toBe(202);
  const job = JSON.parse(answer.text);
  const names = answer.raw.filter((_, i) => i % 2 === 0);
  const value = (n: string) => answer.raw[answer.raw.indexOf(n) + 1];
  expect(names.slice(names.indexOf('RateLimit-Reset') + 1, names.indexOf('RateLimit-Reset') + 4)).toEqual(['Location', 'Content-Type', 'Content-Length']);
  expect(value('Location')).toBe(`/v1/tenants/${A}/jobs/${job.id}`);
  expect(value('Content-Type')).toBe('application/json; charset=utf-8');
  expect(Number(value('Content-Length'))).toBe(Buffer.byteLength(answer.text));
  expect(answer.text).toBe(JSON.stringify(job));
  expect(job).toMatchObject({ tenant_id: A, status: 'queued', type: 'workflow', metadata: { order_id: 'hdr', tenant_id: A } });
});
