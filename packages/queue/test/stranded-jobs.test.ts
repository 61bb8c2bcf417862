/**
 * Jobs that a crash storm can strand (issue #11, the worker-crash-storm flake). Real Redis,
 * Postgres and BullMQ, our dispatcher and reconciler; the faults are made the way they happen:
 * a lock that expired while its process was starved (its key gone), a job that stalls past
 * maxStalledCount, a tenant dropped from the active-tenant set by a worker killed between the
 * SREM and the SADD of retireIfDrained, and a queue entry Redis no longer has.
 */
import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import type { RedisConnection, Dispatcher, Producer, RunHandler } from '@agents/queue';
import { newId } from '@agents/db';
import { coordinationKeys, createDispatcher, LockLost, reviveStrandedEntries, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { createTestDatabase, waitFor, socketsOf, TEST_REDIS_IS_CLUSTER } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { closeQueueClients, openQueueClients } from './queue-clients';

jest.setTimeout(60_000);

const logger = silentLogger();
const T = 'tenant_strand';
/** More tenants, for passes over several tenant queues at once. */
const OTHERS = ['tenant_strand_b', 'tenant_strand_c', 'tenant_strand_d', 'tenant_strand_e'];
let tdb: TestDatabase;
let prefix: string;
let redis: RedisConnection;
let sub: RedisConnection;
let producer: Producer;
let dispatcher: Dispatcher | undefined;

function start(handler: RunHandler) {
  // Short lock and stall check, as in the drills (JOB_LOCK_MS 2000, STALLED_CHECK_MS 1000), shorter still.
  dispatcher = createDispatcher({ redis, subscriber: sub, redisPrefix: prefix, slots: 4, lockMs: 1000, stalledCheckMs: 300, logger, handler });
  return dispatcher.start();
}

const lockKey = (jobId: string) => `${tenantBullPrefix(prefix, T)}:${tenantQueueName(T)}:${jobId}:lock`;

const jobRow = (id: string, tenantId: string, status: 'queued' | 'running') => ({
  id,
  tenant_id: tenantId,
  environment: 'live' as const,
  type: 'workflow' as const,
  status,
  input: null,
  steps: JSON.stringify([{ tool: 'asaas/get_balance', args: {} }]),
  servers: ['asaas'],
  metadata: JSON.stringify({}),
  callback_url: null,
  max_iterations: null,
  model: null,
  idempotency_key: null,
  request_hash: null,
  enqueued_at: new Date(),
});

async function insertRow(status: 'queued' | 'running' = 'queued', tenantId = T): Promise<string> {
  const id = newId('job');
  await tdb.db
    .insertInto('jobs')
    .values(jobRow(id, tenantId, status))
    .execute();
  return id;
}

/**
 * Counts the writes on the connection's socket while `fn` runs. The test double sits at the
 * process boundary: every request to Redis starts with one, so the count is the number of round
 * trips (a pipeline goes out in one write, a command awaited before the next in one each).
 */
async function writesDuring(conn: RedisConnection, fn: () => Promise<unknown>): Promise<number> {
  // Every socket of the connection: one Redis's, or each Cluster node's.
  const sockets = await socketsOf(conn);
  const writes = sockets.map(() => 0);
  const originals = sockets.map((socket, i) => {
    const write = socket.write;
    socket.write = function (this: typeof socket, ...args: Parameters<typeof write>) {
      writes[i]!++;
      return write.apply(this, args);
    } as typeof write;
    return write;
  });
  try {
    await fn();
  } finally {
    sockets.forEach((socket, i) => (socket.write = originals[i]!));
  }
  return writes.reduce((a, b) => a + b, 0);
}

beforeAll(async () => {
  tdb = await createTestDatabase('stranded');
  await tdb.db
    .insertInto('tenants')
    .values(
      [T, ...OTHERS].map((id) => ({
        id,
        name: id,
        servers: ['asaas'],
        limits: JSON.stringify({}),
        plan: JSON.stringify({}),
        instructions: null,
        webhook_url: null,
        automations: JSON.stringify([]),
      })),
    )
    .execute();
});

afterAll(async () => {
  await tdb?.close();
});

beforeEach(async () => {
  // Each test has its own Redis prefix; rows of the previous test must not look stranded in this one.
  await tdb.db.deleteFrom('jobs').execute();
  ({ prefix, redis, sub, producer } = openQueueClients(3));
});

afterEach(async () => {
  await dispatcher?.close(1000);
  dispatcher = undefined;
  await closeQueueClients({ prefix, redis, sub, producer });
});

test('a run whose lock expired is aborted, the stalled check hands the job on, and a job stalled past maxStalledCount is failed for good, not run again', async () => {
  const reasons: unknown[] = [];
  const attemptsSeen: number[] = [];
  const stalledOut: Array<string | undefined> = [];
  let runs = 0;
  await start(async (job, ctx) => {
    runs++;
    attemptsSeen.push(ctx.attemptsMade);
    stalledOut.push(ctx.stalledOut);
    // What the job runner does: record why, and fail without retries.
    if (ctx.stalledOut) throw new UnrecoverableError(ctx.stalledOut);
    // The process was starved past its lock: the lock key expired. Wait for the dispatcher to notice.
    await redis.del(lockKey(job.id!));
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    reasons.push(ctx.signal.reason);
    throw ctx.signal.reason;
  });
  await producer.enqueueRun({ job_id: 'j_stall', tenant_id: T });
  const job = await producer.tenantQueue(T).getJob('j_stall');
  await waitFor(async () => (await job!.getState()) === 'failed', { timeoutMs: 30_000, what: 'the job to fail after three lost locks' });
  // The stalled check may hand the job on before the old run's renewal notices; it still does.
  await waitFor(() => reasons.length === 3, { timeoutMs: 5_000, what: 'every run that lost its lock to be aborted' });
  expect(runs).toBe(4);
  expect(reasons.map((r) => r instanceof LockLost)).toEqual([true, true, true]);
  // A lost lock is not an attempt: nothing was recorded as failed, attempts are untouched.
  expect(attemptsSeen).toEqual([0, 0, 0, 0]);
  // Three stalls, more than maxStalledCount (2): BullMQ marks a deferred failure; the dispatcher hands
  // it to the handler, whose UnrecoverableError ends the job although attempts remain (3).
  expect(stalledOut.slice(0, 3)).toEqual([undefined, undefined, undefined]);
  expect(stalledOut[3]).toMatch(/stalled more than allowable limit/);
  const failed = (await producer.tenantQueue(T).getJob('j_stall'))!;
  expect(failed.stalledCounter).toBe(3);
  expect(failed.failedReason).toMatch(/stalled more than allowable limit/);
});

test('the reconciler re-announces a tenant that fell out of the active set while its job waited, and re-adds an entry Redis lost', async () => {
  const ran: string[] = [];
  const waiting = await insertRow();
  await producer.enqueueRun({ job_id: waiting, tenant_id: T });
  // A worker killed between retireIfDrained's SREM and its SADD: the tenant is gone from the set.
  await redis.srem(coordinationKeys(prefix).activeTenants, T);
  const lost = await insertRow();
  await start(async (job) => {
    ran.push(job.id!);
  });
  // Started with an empty active set and nothing announced: the waiting job is stranded.
  await new Promise((r) => setTimeout(r, 1500));
  expect(ran).toEqual([]);

  const first = await reviveStrandedEntries({ db: tdb.db, producer, logger, graceMs: 0 });
  expect(first).toEqual({ retried: 0, readded: 1, reannounced: 0 });
  await waitFor(() => ran.length === 2, { timeoutMs: 10_000, what: 'both stranded jobs to run' });
  expect(ran.sort()).toEqual([waiting, lost].sort());
  // Rows are untouched by the dispatcher here (no job handler writes them): a second pass finds the
  // entries completed and repairs nothing.
  expect(await reviveStrandedEntries({ db: tdb.db, producer, logger, graceMs: 0 })).toEqual({ retried: 0, readded: 0, reannounced: 0 });
});

test('the reconciler announces the tenant of a waiting job that no dispatcher was looking at', async () => {
  const id = await insertRow();
  await producer.enqueueRun({ job_id: id, tenant_id: T });
  await redis.srem(coordinationKeys(prefix).activeTenants, T);
  const ran: string[] = [];
  await start(async (job) => {
    ran.push(job.id!);
  });
  await new Promise((r) => setTimeout(r, 1000));
  expect(ran).toEqual([]);
  expect(await reviveStrandedEntries({ db: tdb.db, producer, logger, graceMs: 0 })).toEqual({ retried: 0, readded: 0, reannounced: 1 });
  await waitFor(() => ran.length === 1, { timeoutMs: 10_000, what: 'the stranded job to run' });
});

test("a dead worker's job is recovered by the stalled check and run even though its tenant was dropped from the active set", async () => {
  // The crash-storm flake: worker W is running jobs of T, finds no more waiting ones, removes T from
  // the active set (retireIfDrained's SREM) and is SIGKILLed before putting it back. The survivor's
  // stalled check later returns W's jobs to wait, but no rescan or activation would ever fetch them.
  await producer.enqueueRun({ job_id: 'j_dead', tenant_id: T });
  const dead = new Worker(tenantQueueName(T), null, { connection: redis, prefix: tenantBullPrefix(prefix, T), autorun: false, lockDuration: 1000 });
  try {
    const taken = await dead.getNextJob(randomUUID(), { block: false });
    expect(taken?.id).toBe('j_dead');
    const ran: string[] = [];
    await start(async (job) => {
      ran.push(job.id!);
    });
    // The survivor has looked at T (its Worker object and stalled check exist) and found nothing waiting.
    await new Promise((r) => setTimeout(r, 500));
    await redis.srem(coordinationKeys(prefix).activeTenants, T);
    // W is dead: it never renews. Its lock expires after 1 s; two stalled checks later the job is back in wait.
    await waitFor(() => ran.length === 1, { timeoutMs: 10_000, what: "the dead worker's job to run on the survivor" });
    expect(ran).toEqual(['j_dead']);
  } finally {
    await dead.close(true);
  }
});

test('every kind of stranded entry is repaired in one pass, and entries that need nothing are left alone', async () => {
  const [B, C, D, E] = OTHERS as [string, string, string, string];
  const keys = coordinationKeys(prefix);
  const queue = (tid: string) => producer.tenantQueue(tid);
  const state = async (tid: string, id: string) => (await queue(tid).getJob(id))?.getState();
  const workers: Worker[] = [];
  /** Takes the tenant's next waiting entry as a worker would (the worker then stays silent: dead or busy). */
  async function take(tid: string) {
    const w = new Worker(tenantQueueName(tid), null, { connection: redis, prefix: tenantBullPrefix(prefix, tid), autorun: false });
    workers.push(w);
    const token = randomUUID();
    const job = (await w.getNextJob(token, { block: false }))!;
    return { job, token };
  }
  try {
    // T: a waiting entry and a row whose entry Redis lost; the re-add announces T, so T does not count as re-announced.
    const waiting = await insertRow('queued', T);
    await producer.enqueueRun({ job_id: waiting, tenant_id: T });
    const lost = await insertRow('queued', T);
    // B: an active entry (its worker died) and a delayed and a prioritized one: B is re-announced.
    const active = await insertRow('running', B);
    await producer.enqueueRun({ job_id: active, tenant_id: B });
    expect((await take(B)).job.id).toBe(active);
    const delayed = await insertRow('queued', B);
    await queue(B).add('job.run', { job_id: delayed, tenant_id: B }, { jobId: delayed, delay: 3_600_000 });
    const prioritized = await insertRow('queued', B);
    await queue(B).add('job.run', { job_id: prioritized, tenant_id: B }, { jobId: prioritized, priority: 1 });
    // C: an entry that failed while its row stayed running (retried), and one completed while its row is still running (left alone).
    const failed = await insertRow('running', C);
    await producer.enqueueRun({ job_id: failed, tenant_id: C });
    const f = await take(C);
    await f.job.moveToFailed(new UnrecoverableError('the write marking the row failed did not happen'), f.token);
    const completedC = await insertRow('running', C);
    await producer.enqueueRun({ job_id: completedC, tenant_id: C });
    const c = await take(C);
    await c.job.moveToCompleted('done', c.token, false);
    // D: only a completed entry: nothing to run, so D is not announced.
    const completedD = await insertRow('running', D);
    await producer.enqueueRun({ job_id: completedD, tenant_id: D });
    const d = await take(D);
    await d.job.moveToCompleted('done', d.token, false);
    // E: waiting and still in the active set: nothing to repair.
    const waitingE = await insertRow('queued', E);
    await producer.enqueueRun({ job_id: waitingE, tenant_id: E });
    expect(await state(C, failed)).toBe('failed');
    expect(await state(B, delayed)).toBe('delayed');
    expect(await state(B, prioritized)).toBe('prioritized');
    // Workers killed between retireIfDrained's SREM and its SADD.
    await redis.srem(keys.activeTenants, T, B, C, D);

    expect(await reviveStrandedEntries({ db: tdb.db, producer, logger, graceMs: 0 })).toEqual({ retried: 1, readded: 1, reannounced: 1 });
    expect((await redis.smembers(keys.activeTenants)).sort()).toEqual([T, B, C, E].sort());
    expect(await state(T, lost)).toBe('waiting');
    expect(await state(C, failed)).toBe('waiting');
    expect((await queue(C).getJob(failed))!.attemptsMade).toBe(0);
    expect([await state(T, waiting), await state(B, active), await state(B, delayed), await state(B, prioritized)]).toEqual([
      'waiting',
      'active',
      'delayed',
      'prioritized',
    ]);
    expect([await state(C, completedC), await state(D, completedD), await state(E, waitingE)]).toEqual(['completed', 'completed', 'waiting']);
    // Repaired: a second pass finds nothing to do.
    expect(await reviveStrandedEntries({ db: tdb.db, producer, logger, graceMs: 0 })).toEqual({ retried: 0, readded: 0, reannounced: 0 });
  } finally {
    await Promise.all(workers.map((w) => w.close(true)));
  }
});

test('a pass over a backlog costs the same round trips to Redis for 200 rows as for 50', async () => {
  const tenants = [T, ...OTHERS];
  async function backlog(n: number) {
    const rows = Array.from({ length: n }, (_, i) => jobRow(newId('job'), tenants[i % tenants.length]!, 'queued'));
    await tdb.db.insertInto('jobs').values(rows).execute();
    expect(await producer.enqueueRuns(rows.map((r) => ({ job_id: r.id, tenant_id: r.tenant_id })))).toHaveLength(n);
  }
  const pass = async () =>
    expect(await reviveStrandedEntries({ db: tdb.db, producer, logger, graceMs: 0 })).toEqual({ retried: 0, readded: 0, reannounced: 0 });
  await backlog(50);
  const at50 = await writesDuring(redis, pass);
  await backlog(150);
  const at200 = await writesDuring(redis, pass);
  // One pipeline reads every entry's existence and state, one puts the tenants back in the active set.
  // On a Cluster the reads are one pipeline per tenant queue (its own slot): still bounded by the
  // tenants, not the rows.
  expect(at200).toBe(at50);
  expect(at50).toBe(TEST_REDIS_IS_CLUSTER ? tenants.length + 1 : 2);
});
