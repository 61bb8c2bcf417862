/**
 * createRedis's clients type their command errors: Redis unreachable (connection refused, retries
 * exhausted, command timeout) is RedisUnavailableError, on plain commands and pipelines alike; a
 * reply Redis sent (WRONGTYPE…) stays the ReplyError it is. Real Redis; the unreachable one is a
 * real closed port.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ReplyError } from 'ioredis';
import { createRedis, isRedisUnavailable, RedisUnavailableError } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { flushPrefix, testRedisPrefix, TEST_REDIS_URL } from '@agents/testkit';

const prefix = testRedisPrefix();
afterAll(async () => flushPrefix(prefix));

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

test('an unreachable Redis: commands and pipelined commands fail with RedisUnavailableError', async () => {
  const down = createRedis(`redis://127.0.0.1:${await closedPort()}`, silentLogger(), 'down', { failFastMs: 500 });
  try {
    const err = await failure(down.get(`${prefix}:x`));
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(isRedisUnavailable(err)).toBe(true);
    // exec answers [err, value] per command (or rejects as a whole): typed either way.
    const settled = await down
      .pipeline()
      .get(`${prefix}:x`)
      .incr(`${prefix}:y`)
      .exec()
      .then(
        (r) => (r ?? []).map(([e]) => e),
        (e: unknown) => [e],
      );
    expect(settled.length).toBeGreaterThan(0);
    for (const e of settled) expect(isRedisUnavailable(e)).toBe(true);
  } finally {
    down.disconnect();
  }
});

test('an unreachable Redis Cluster: a request-path client fails its commands as RedisUnavailableError instead of queueing them', async () => {
  // No seed answers: the Cluster never gets a slot map, so without the request budget the command
  // would wait in its offline queue for as long as the cluster stays away (this test would time out).
  const down = createRedis(`redis+cluster://127.0.0.1:${await closedPort()}`, silentLogger(), 'down-cluster', { failFastMs: 500 });
  try {
    const err = await failure(down.get(`${prefix}:x`));
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(isRedisUnavailable(err)).toBe(true);
  } finally {
    down.disconnect();
  }
});

test('a reply Redis sends stays a ReplyError, never "unavailable"', async () => {
  const up = createRedis(TEST_REDIS_URL, silentLogger(), 'up', { failFastMs: 1_000 });
  try {
    await up.set(`${prefix}:s`, 'text');
    const err = await failure(up.lpush(`${prefix}:s`, 'x'));
    expect(err).toBeInstanceOf(ReplyError);
    expect(isRedisUnavailable(err)).toBe(false);
    const pipelined = (await up.pipeline().lpush(`${prefix}:s`, 'x').exec())![0]![0];
    expect(pipelined).toBeInstanceOf(ReplyError);
    expect(await up.get(`${prefix}:s`)).toBe('text');
  } finally {
    up.disconnect();
  }
});

test('a reply that says Redis cannot serve right now (loading, a replica, a shard without master) is "unavailable"', async () => {
  const up = createRedis(TEST_REDIS_URL, silentLogger(), 'up', { failFastMs: 1_000 });
  try {
    // Real replies with those messages, sent by Redis itself from a script.
    for (const reply of [
      'LOADING Redis is loading the dataset in memory',
      'MASTERDOWN Link with MASTER is down',
      "READONLY You can't write against a read only replica.",
    ]) {
      const err = await failure(up.eval(`return redis.error_reply(ARGV[1])`, 0, reply));
      expect(err).toBeInstanceOf(RedisUnavailableError);
      expect(isRedisUnavailable(err)).toBe(true);
      expect((err as Error).message).toBe(reply);
    }
    // Any other reply stays what it is.
    const other = await failure(up.eval(`return redis.error_reply(ARGV[1])`, 0, 'ERR something else'));
    expect(other).toBeInstanceOf(ReplyError);
  } finally {
    up.disconnect();
  }
});
