import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { parseRedisUrl } from '@agents/config';

/**
 * The Redis the tests use: the machine's on 6379, or what TEST_REDIS_URL names (`.ci/run` sets it
 * to the local Redis Cluster of scripts/redis-cluster.mjs for its second pass over the queue, e2e
 * and drill suites). Test infrastructure, not product configuration: the processes under test get
 * it as REDIS_URL through testConfig.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Whether the tests run against a Redis Cluster (TEST_REDIS_URL is `redis+cluster://…`). */
export const TEST_REDIS_IS_CLUSTER = parseRedisUrl(TEST_REDIS_URL).kind === 'cluster';

/**
 * A plain ioredis client of `url` for a test's own reads and writes (createRedis is the product's):
 * a Redis, or a Cluster with `options` for each of its node connections.
 */
export function openTestRedis(options: RedisOptions = {}, url = TEST_REDIS_URL): Redis | Cluster {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis(url, options);
  return new Cluster(target.nodes, {
    redisOptions: { ...options, ...(target.password ? { password: target.password } : {}), ...(target.username ? { username: target.username } : {}) },
  });
}

/** A key prefix of its own per test file, so files running in parallel never see each other's queues. */
export function testRedisPrefix(): string {
  return `test-${randomBytes(5).toString('hex')}`;
}

/**
 * Deletes every key under the prefix (our keys and BullMQ's, which start with `<prefix>:`). On a
 * Cluster, every master is scanned and each key unlinked on its own (keys of several slots cannot
 * share one UNLINK).
 */
export async function flushPrefix(prefix: string, redisUrl = TEST_REDIS_URL): Promise<void> {
  const r = openTestRedis({ maxRetriesPerRequest: 1 }, redisUrl);
  try {
    // A Cluster knows its nodes once it has read the slot map (any command waits for that).
    if (r instanceof Cluster) await r.ping();
    const nodes = r instanceof Cluster ? r.nodes('master') : [r];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (!keys.length) continue;
        if (r instanceof Cluster) await Promise.all(keys.map((k) => r.unlink(k)));
        else await r.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    r.disconnect();
  }
}

/**
 * Connections in MONITOR mode on the nodes that serve `keys`, one per node (the one Redis, or on a
 * Cluster each master holding one of the keys' slots, where commands on them run), so every
 * command is seen once: what Redis is sent, the test double at the process boundary. Disconnect
 * them when done.
 */
export async function monitorsOf(keys: string[], url = TEST_REDIS_URL): Promise<Redis[]> {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return [await monitoring(new Redis(url, { monitor: true }))];
  const cluster = openTestRedis({ maxRetriesPerRequest: 1 }, url) as Cluster;
  const owners = new Set<string>();
  try {
    for (const key of keys) {
      const slot = Number(await cluster.cluster('KEYSLOT', key));
      const owner = cluster.slots[slot]?.[0];
      if (!owner) throw new Error(`no node serves slot ${slot}`);
      owners.add(owner);
    }
  } finally {
    cluster.disconnect();
  }
  return Promise.all(
    [...owners].map((owner) => {
      const [host, port] = owner.split(':');
      return monitoring(new Redis({ host, port: Number(port), password: target.password, username: target.username, monitor: true }));
    }),
  );
}

/** monitorsOf for one key: the one connection. */
export async function monitorOf(key: string, url = TEST_REDIS_URL): Promise<Redis> {
  return (await monitorsOf([key], url))[0]!;
}

/**
 * The sockets a connection writes on: the one Redis's, or one per master of a Cluster (each
 * connected first: a Cluster opens a node's connection on its first command there). For tests that
 * count or hold back writes at the process boundary.
 */
export async function socketsOf(conn: Redis | Cluster): Promise<Socket[]> {
  if (!(conn instanceof Cluster)) return [conn.stream as Socket];
  await conn.ping();
  const masters = conn.nodes('master');
  await Promise.all(masters.map((n) => n.ping()));
  return masters.map((n) => n.stream as Socket);
}

/** Resolves once the connection (made with `monitor: true`, as Redis#monitor makes its own) is in MONITOR mode. */
function monitoring(conn: Redis): Promise<Redis> {
  return new Promise((resolve, reject) => {
    conn.once('monitoring', () => resolve(conn));
    conn.once('error', (err) => {
      conn.disconnect();
      reject(err);
    });
  });
}

/**
 * Makes Redis hold every write for `ms` (CLIENT PAUSE … WRITE) on every master (the one Redis, or
 * each master of a Cluster, wherever a tenant's slot lives); resolves with the function that ends
 * the pause early and closes its connection.
 */
export async function pauseWrites(ms: number, url = TEST_REDIS_URL): Promise<() => Promise<void>> {
  const admin = openTestRedis({ maxRetriesPerRequest: 1 }, url);
  if (admin instanceof Cluster) await admin.ping();
  const masters = admin instanceof Cluster ? admin.nodes('master') : [admin];
  try {
    await Promise.all(masters.map((m) => m.call('CLIENT', 'PAUSE', String(ms), 'WRITE')));
  } catch (err) {
    admin.disconnect();
    throw err;
  }
  return async () => {
    try {
      await Promise.all(masters.map((m) => m.call('CLIENT', 'UNPAUSE')));
    } finally {
      admin.disconnect();
    }
  };
}
