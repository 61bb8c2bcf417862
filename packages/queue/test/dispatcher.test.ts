import type { Redis } from 'ioredis';
import type { RedisConnection, Dispatcher, Producer, RunHandler } from '@agents/queue';
import { createDispatcher, coordinationKeys } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { monitorsOf, pauseWrites, socketsOf, waitFor } from '@agents/testkit';
import { closeQueueClients, openQueueClients } from './queue-clients';

const logger = silentLogger();
let prefix: string;
let redis: RedisConnection;
let sub: RedisConnection;
let producer: Producer;
let dispatcher: Dispatcher | undefined;

function start(handler: RunHandler, slots: number, rescanMs?: number) {
  dispatcher = createDispatcher({ redis, subscriber: sub, redisPrefix: prefix, slots, lockMs: 5000, stalledCheckMs: 5000, logger, handler, rescanMs });
  return dispatcher.start();
}

beforeEach(() => {
  ({ prefix, redis, sub, producer } = openQueueClients(1));
});

afterEach(async () => {
  try {
    await dispatcher?.close(1000);
  } finally {
    dispatcher = undefined;
    await closeQueueClients({ prefix, redis, sub, producer });
  }
});

test('slots are handed round-robin across tenants, not in arrival order', async () => {
  for (let i = 0; i < 6; i++) await producer.enqueueRun({ job_id: `a${i}`, tenant_id: 'tenant_a' });
  for (let i = 0; i < 3; i++) await producer.enqueueRun({ job_id: `b${i}`, tenant_id: 'tenant_b' });
  const order: string[] = [];
  await start(async (job) => {
    order.push(job.data.tenant_id);
  }, 1);
  await waitFor(() => order.length === 9, { what: 'all jobs' });
  // While both have work, they alternate; the flood's tail runs after the quiet tenant is done.
  // Which of the two goes first is the active set's SMEMBERS order at the start-up rescan, which
  // Redis does not define (on Redis 7.0 it follows a hash seeded at each server start).
  const short = order.map((t) => t.slice(-1)).join('');
  expect(['abababaaa', 'bababaaaa']).toContain(short);
});

test('a tenant alone keeps its slots: each finish fetches its next job in the same script, announcing nothing', async () => {
  for (let i = 0; i < 20; i++) await producer.enqueueRun({ job_id: `s${i}`, tenant_id: 'tenant_solo' });
  const { activationChannel, activeTenants } = coordinationKeys(prefix);
  const listener = redis.duplicate();
  try {
    const announced: string[] = [];
    listener.on('message', (_channel, tenant: string) => announced.push(tenant));
    await listener.subscribe(activationChannel);
    const done: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    await start(async (job) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      done.push(job.id!);
    }, 2);
    await waitFor(() => done.length === 20, { what: 'all jobs' });
    const queue = producer.tenantQueue('tenant_solo');
    await waitFor(async () => (await queue.getCompletedCount()) === 20, { what: 'every job completed in its queue' });
    // Without the fetch in the finish, each of the 20 finishes would announce the tenant to every process.
    expect(announced).toEqual([]);
    expect(maxInFlight).toBe(2);
    expect(new Set(done).size).toBe(20);
    // The last finish found the queue empty and took the tenant out of the recovery set.
    await waitFor(async () => (await redis.sismember(activeTenants, 'tenant_solo')) === 0, { what: 'tenant retired' });
  } finally {
    listener.disconnect();
  }
});

test('tenants announced together are fetched at once, not one round trip after another', async () => {
  // Four tenants with a job each are in the recovery set before the dispatcher starts; its start-up
  // rescan announces them together. Redis holds every write (BullMQ's fetch is a write script) for a
  // while, so the fetches the dispatcher has issued stay in flight where the test can count them.
  for (let i = 0; i < 4; i++) await producer.enqueueRun({ job_id: `t${i}`, tenant_id: `tenant_t${i}` });
  const started: string[] = [];
  const unpause = await pauseWrites(1500);
  try {
    await start(async (job) => void started.push(job.id!), 4);
    await waitFor(() => dispatcher!.stats().fetching === 4, { what: 'four fetches in flight while Redis holds writes', timeoutMs: 1000 });
  } finally {
    await unpause();
  }
  await waitFor(() => started.length === 4, { what: 'every job started' });
  expect(dispatcher!.stats().fetching).toBe(0);
});

test('shutdown waits for a fetch Redis does not answer no longer than its grace, and the job it then gets goes back to wait', async () => {
  await producer.enqueueRun({ job_id: 'held', tenant_id: 'tenant_held' });
  const started: string[] = [];
  const unpause = await pauseWrites(2000);
  try {
    await start(async (job) => void started.push(job.id!), 1);
    await waitFor(() => dispatcher!.stats().fetching === 1, { what: 'a fetch in flight while Redis holds writes', timeoutMs: 1000 });
    const d = dispatcher!;
    dispatcher = undefined;
    await d.close(200);
    // close() returned while Redis still held the fetch (the pause lasts 2 s): the grace bounded the wait.
    expect(d.stats().fetching).toBe(1);
  } finally {
    await unpause();
  }
  // Once Redis answers, the job the fetch took is handed back untouched, not run.
  const queue = producer.tenantQueue('tenant_held');
  await waitFor(async () => (await queue.getJobState('held')) === 'waiting', { what: 'the fetched job back in wait' });
  expect(started).toEqual([]);
});

test("a finish that fails (its lock gone) still hands the slot on: the tenant's next job runs without waiting for a rescan", async () => {
  for (const id of ['first', 'second']) await producer.enqueueRun({ job_id: id, tenant_id: 'tenant_lost' });
  const lockKey = `${producer.tenantQueue('tenant_lost').keys['']}first:lock`;
  const started: string[] = [];
  // No rescan within the test: only the finish's own announcement can bring the tenant back.
  await start(
    async (job) => {
      started.push(job.id!);
      // Someone else took the job's lock (a stalled check after a long pause): the finish script refuses it.
      if (job.id === 'first') await redis.set(lockKey, 'another-token');
    },
    1,
    60_000,
  );
  await waitFor(() => started.includes('second'), { what: "the second job started after the first one's finish failed", timeoutMs: 3000 });
});

test("a tenant's global concurrency caps it even when slots are free; other tenants still run", async () => {
  await producer.tenantQueue('tenant_capped').setGlobalConcurrency(1);
  for (let i = 0; i < 4; i++) await producer.enqueueRun({ job_id: `c${i}`, tenant_id: 'tenant_capped' });
  for (let i = 0; i < 2; i++) await producer.enqueueRun({ job_id: `f${i}`, tenant_id: 'tenant_free' });
  let capped = 0;
  let maxCapped = 0;
  let free = 0;
  let maxFree = 0;
  const done: string[] = [];
  await start(async (job) => {
    const isCapped = job.data.tenant_id === 'tenant_capped';
    if (isCapped) maxCapped = Math.max(maxCapped, ++capped);
    else maxFree = Math.max(maxFree, ++free);
    await new Promise((r) => setTimeout(r, 100));
    if (isCapped) capped--;
    else free--;
    done.push(job.id!);
  }, 4);
  await waitFor(() => done.length === 6, { what: 'all jobs' });
  expect(maxCapped).toBe(1);
  expect(maxFree).toBe(2);
});

test('an idle dispatcher wakes on activation without polling, and a cancel aborts a running job', async () => {
  const seen: string[] = [];
  let aborted: unknown;
  await start(async (job, ctx) => {
    seen.push(job.id!);
    if (job.id === 'long') {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = (ctx.signal.reason as { code?: string }).code;
    }
  }, 2);
  await producer.enqueueRun({ job_id: 'long', tenant_id: 'tenant_x' });
  await waitFor(() => seen.includes('long'), { what: 'job start' });
  // While the tenant has a job in flight it stays in the recovery set (a restart, or the stalled
  // check of another process, finds it)...
  const activeSet = coordinationKeys(prefix).activeTenants;
  await waitFor(async () => (await redis.sismember(activeSet, 'tenant_x')) === 1, { what: 'tenant listed while running' });
  await producer.publishCancel('long');
  await waitFor(() => aborted, { what: 'abort' });
  expect(aborted).toBe('cancelled');
  // ...and once drained it leaves the set, so rescans stop touching it.
  await waitFor(async () => (await redis.sismember(activeSet, 'tenant_x')) === 0, { what: 'drained tenant retired' });
});

test('a tenant announced with one job gets one fetch, not every free slot: a tenant announced during that fetch is fetched alongside it', async () => {
  // The dispatcher's own command connection, whose writes the test holds back (corked socket): what
  // the dispatcher decides to fetch while a fetch is in flight reaches Redis only on uncork.
  const own = redis.duplicate();
  // On a Cluster each tenant's slot may be on another master: one monitor per node holding one.
  const monitors = await monitorsOf(['tenant_a', 'tenant_b'].map((t) => `${prefix}:{t.${t}}`));
  const monitor = { on: (...a: Parameters<Redis['on']>) => monitors.forEach((m) => m.on(...a)), disconnect: () => monitors.forEach((m) => m.disconnect()) };
  const fetchedFor: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    // BullMQ's moveToActive: 11 keys, the first the queue's wait list.
    if (/^evalsha$/i.test(args[0] ?? '') && args[2] === '11' && args[3]?.startsWith(`${prefix}:`) && args[3].endsWith(':wait')) {
      fetchedFor.push(/\{t\.([^}]+)\}/.exec(args[3])![1]!);
    }
  });
  const started: string[] = [];
  const gates: Array<() => void> = [];
  try {
    dispatcher = createDispatcher({
      redis: own,
      subscriber: sub,
      redisPrefix: prefix,
      slots: 3,
      lockMs: 5000,
      stalledCheckMs: 5000,
      logger,
      handler: async (job) => {
        started.push(job.id!);
        await new Promise<void>((resolve) => gates.push(resolve));
      },
    });
    await dispatcher.start();
    // Held back on every node it talks to (the one Redis, or each Cluster master it connected to).
    const held = await socketsOf(own);
    for (const socket of held) socket.cork();
    await producer.enqueueRun({ job_id: 'a1', tenant_id: 'tenant_a' });
    await waitFor(() => dispatcher!.stats().activeTenants === 1 && dispatcher!.stats().fetching > 0, { what: 'a fetch for tenant_a issued' });
    await producer.enqueueRun({ job_id: 'b1', tenant_id: 'tenant_b' });
    await waitFor(() => dispatcher!.stats().activeTenants === 2, { what: 'tenant_b announced' });
    for (const socket of held) socket.uncork();
    await waitFor(() => started.length === 2, { what: 'both jobs started' });
    await waitFor(() => fetchedFor.length >= 2, { what: 'the fetches seen by Redis' });
    // The old pump sent tenant_a a fetch for each free slot and tenant_b's fetch only after they came back.
    expect(fetchedFor.slice(0, 2).sort()).toEqual(['a', 'b'].map((x) => `tenant_${x}`));
  } finally {
    for (const open of gates) open();
    // Both extra connections close whatever the dispatcher's close does (a rejection there left
    // them open for the next test file of this jest worker).
    try {
      await dispatcher?.close(1000);
    } finally {
      dispatcher = undefined;
      monitor.disconnect();
      own.disconnect();
    }
  }
});
