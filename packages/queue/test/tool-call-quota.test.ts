/**
 * The tool-call quota's reservation script on real Redis: what Redis is sent, seen with MONITOR
 * (a second connection, the test double at the process boundary).
 */
import type { RedisConnection } from '@agents/queue';
import type { Redis } from 'ioredis';
import { createToolCallQuota, QuotaExceededError } from '@agents/queue';
import { flushPrefix, testRedisPrefix, TEST_REDIS_URL, waitFor, monitorOf, openTestRedis } from '@agents/testkit';

let prefix: string;
let redis: RedisConnection;
let monitor: Redis | undefined;

beforeEach(() => {
  prefix = testRedisPrefix();
  redis = openTestRedis({ maxRetriesPerRequest: null });
});
afterEach(async () => {
  monitor?.disconnect();
  monitor = undefined;
  redis.disconnect();
  await flushPrefix(prefix);
});

test('a reservation sends the script body once per connection, then only its SHA (EVALSHA); the allowance holds', async () => {
  // Seeding reads the month's executed calls from Postgres; one was made before Redis had the counter.
  const quota = createToolCallQuota({ redis, redisPrefix: prefix, countExecuted: async () => 1 });
  monitor = await monitorOf(`${prefix}:{t.tenant_q}`);
  const scripts: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    const name = args[0]?.toLowerCase();
    if ((name === 'eval' || name === 'evalsha') && args[3]?.startsWith(`${prefix}:`)) scripts.push(name);
  });

  // Allowance 3, one used: two reservations, the third is refused without taking anything.
  await quota.reserve('tenant_q', 'live', 3);
  await quota.reserve('tenant_q', 'live', 3);
  await expect(quota.reserve('tenant_q', 'live', 3)).rejects.toBeInstanceOf(QuotaExceededError);
  expect(await quota.used('tenant_q', 'live')).toBe(3);

  // The first run finds the counter missing (seeded, then run again); four runs in all.
  await waitFor(() => scripts.length === 4, { what: 'MONITOR to report the four script runs' });
  expect(scripts).toEqual(['eval', 'evalsha', 'evalsha', 'evalsha']);
});
