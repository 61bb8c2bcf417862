/**
 * The producer's batched enqueue (the API's job intake): many tenants' jobs go out in ONE pipeline
 * on the shared connection, land in their own tenant queues exactly as a single `enqueueRun` puts
 * them there, and the tenants are announced after their adds. Real Redis.
 */
import { Queue } from 'bullmq';
import type { RedisConnection, Producer } from '@agents/queue';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import type { Cluster } from 'ioredis';
import { socketsOf, TEST_REDIS_IS_CLUSTER, waitFor } from '@agents/testkit';
import { closeQueueClients, openQueueClients } from './queue-clients';

let prefix: string;
let redis: RedisConnection;
let sub: RedisConnection;
let producer: Producer;
const queues: Queue[] = [];

beforeEach(() => {
  ({ prefix, redis, sub, producer } = openQueueClients(3));
});

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await closeQueueClients({ prefix, redis, sub, producer });
});

function queueOf(tenant: string): Queue {
  const q = new Queue(tenantQueueName(tenant), { connection: redis, prefix: tenantBullPrefix(prefix, tenant) });
  queues.push(q);
  return q;
}

/**
 * Counts the socket writes (system calls' worth: `_write`/`_writev` of the socket) of the
 * producer's connection while `fn` runs: its one socket, or every master's of a Cluster.
 */
async function writesDuring<T>(fn: () => Promise<T>): Promise<{ result: T; writes: number }> {
  const sockets = (await socketsOf(redis)) as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>[];
  let writes = 0;
  const originals = sockets.map((socket) => {
    const saved = { _write: socket._write, _writev: socket._writev };
    for (const name of ['_write', '_writev'] as const) {
      socket[name] = function (this: unknown, ...args: unknown[]) {
        writes++;
        return saved[name].apply(this, args);
      };
    }
    return saved;
  });
  try {
    return { result: await fn(), writes };
  } finally {
    sockets.forEach((socket, i) => Object.assign(socket, originals[i]));
  }
}

/** The masters that serve these keys' slots (one for a single Redis). */
async function mastersOf(keys: string[]): Promise<number> {
  if (!TEST_REDIS_IS_CLUSTER) return 1;
  const cluster = redis as Cluster;
  const slots = await Promise.all(keys.map(async (k) => Number(await cluster.cluster('KEYSLOT', k))));
  return new Set(slots.map((slot) => cluster.slots[slot]![0])).size;
}

test('jobs of several tenants go out in one write, each lands in its own queue as enqueueRun puts it, and every tenant is announced once', async () => {
  const activations: string[] = [];
  await sub.subscribe(coordinationKeys(prefix).activationChannel);
  sub.on('message', (_channel, tenant: string) => activations.push(tenant));
  // The reference: a single enqueue, and a first use of the queues (BullMQ loads its scripts then).
  await producer.enqueueRun({ job_id: 'ref', tenant_id: 'tenant_ref' });
  await producer.enqueueRuns([
    { job_id: 'warm', tenant_id: 'tenant_a' },
    { job_id: 'warm2', tenant_id: 'tenant_b' },
    { job_id: 'warm3', tenant_id: 'tenant_c' },
  ]);

  const batch = [
    { job_id: 'a1', tenant_id: 'tenant_a' },
    { job_id: 'b1', tenant_id: 'tenant_b' },
    { job_id: 'a2', tenant_id: 'tenant_a' },
    { job_id: 'c1', tenant_id: 'tenant_c' },
  ];
  const { result, writes } = await writesDuring(() => producer.enqueueRuns(batch));
  expect(result.sort()).toEqual(['a1', 'a2', 'b1', 'c1']);
  // On a Cluster: one write per master holding these tenants' queues, then the activation (after the adds answered).
  const addMasters = await mastersOf(['tenant_a', 'tenant_b', 'tenant_c'].map((t) => tenantBullPrefix(prefix, t)));
  expect(writes).toBe(TEST_REDIS_IS_CLUSTER ? addMasters + 1 : 1);

  const ref = (await queueOf('tenant_ref').getJob('ref'))!;
  for (const p of batch) {
    const job = (await queueOf(p.tenant_id).getJob(p.job_id))!;
    expect(job.name).toBe('job.run');
    expect(job.data).toEqual(p);
    expect(job.opts).toEqual({ ...ref.opts, jobId: p.job_id });
    expect(await job.getState()).toBe('waiting');
  }
  expect(await queueOf('tenant_a').getWaitingCount()).toBe(3);
  // Order of arrival within a tenant is kept (FIFO: warm, a1, a2).
  expect((await queueOf('tenant_a').getWaiting()).map((j) => j.id)).toEqual(['warm', 'a1', 'a2']);

  expect((await redis.smembers(coordinationKeys(prefix).activeTenants)).sort()).toEqual(['tenant_a', 'tenant_b', 'tenant_c', 'tenant_ref']);
  // ref once, the warm-up batch's three, then this batch's three: one announcement per tenant per batch.
  await waitFor(() => activations.length === 7, { what: 'the activation messages' });
  expect(activations.slice(4).sort()).toEqual(['tenant_a', 'tenant_b', 'tenant_c']);

  // Adding the same job again is a no-op (BullMQ jobId = our job id), as the reconciler relies on.
  expect((await producer.enqueueRuns([{ job_id: 'a1', tenant_id: 'tenant_a' }])).sort()).toEqual(['a1']);
  expect(await queueOf('tenant_a').getWaitingCount()).toBe(3);
});

test('a tenant whose add fails is left out of the result while the other tenants of the batch are enqueued', async () => {
  await producer.enqueueRuns([
    { job_id: 'w1', tenant_id: 'tenant_ok' },
    { job_id: 'w2', tenant_id: 'tenant_bad' },
  ]);
  // Break tenant_bad's queue for real: its meta hash becomes a string, so BullMQ's add script fails with WRONGTYPE.
  const meta = queueOf('tenant_bad').keys.meta!;
  await redis.del(meta);
  await redis.set(meta, 'not a hash');

  const ids = await producer.enqueueRuns([
    { job_id: 'ok1', tenant_id: 'tenant_ok' },
    { job_id: 'bad1', tenant_id: 'tenant_bad' },
    { job_id: 'ok2', tenant_id: 'tenant_ok' },
  ]);
  expect(ids.sort()).toEqual(['ok1', 'ok2']);
  expect(await queueOf('tenant_ok').getJob('ok2')).toBeDefined();
  expect(await redis.exists(`${tenantBullPrefix(prefix, 'tenant_bad')}:${tenantQueueName('tenant_bad')}:bad1`)).toBe(0);
});

test('an empty batch sends nothing', async () => {
  await redis.ping();
  const { result, writes } = await writesDuring(() => producer.enqueueRuns([]));
  expect(result).toEqual([]);
  expect(writes).toBe(0);
});
