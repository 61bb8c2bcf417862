import type { RedisConnection, Producer } from '@agents/queue';
import { createProducer } from '@agents/queue';
import { flushPrefix, testRedisPrefix, TEST_REDIS_URL, openTestRedis } from '@agents/testkit';

/** What a dispatcher test needs, fresh per test: its own Redis prefix, a command and a subscriber connection, a producer. */
export interface QueueClients {
  prefix: string;
  redis: RedisConnection;
  sub: RedisConnection;
  producer: Producer;
}

export function openQueueClients(attempts: number): QueueClients {
  const prefix = testRedisPrefix();
  const redis = openTestRedis({ maxRetriesPerRequest: null });
  const sub = openTestRedis({ maxRetriesPerRequest: null });
  return { prefix, redis, sub, producer: createProducer({ redis, redisPrefix: prefix, attempts }) };
}

/** Closes what openQueueClients opened and removes every key under the prefix. */
export async function closeQueueClients(c: QueueClients): Promise<void> {
  try {
    await c.producer.close();
  } finally {
    // Whatever the producer did, the two connections close: one left open fails every later file of this jest worker.
    c.redis.disconnect();
    c.sub.disconnect();
  }
  await flushPrefix(c.prefix);
}
