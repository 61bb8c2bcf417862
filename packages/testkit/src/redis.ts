import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix of its own per test file, so files running in parallel never see each other's queues. */
export function testRedisPrefix(): string {
  return `test-${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under the prefix (our keys and BullMQ's, which start with `<prefix>:`). */
export async function flushPrefix(prefix: string, redisUrl = TEST_REDIS_URL): Promise<void> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
