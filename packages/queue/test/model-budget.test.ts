import type { RedisConnection, ModelBudget } from '@agents/queue';
import { createModelBudget } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { flushPrefix, testRedisPrefix, TEST_REDIS_URL, waitFor, monitorOf, openTestRedis } from '@agents/testkit';

let prefix: string;
let redis: RedisConnection;
const budgets: ModelBudget[] = [];

beforeEach(() => {
  prefix = testRedisPrefix();
  redis = openTestRedis({ maxRetriesPerRequest: null });
});
afterEach(async () => {
  for (const b of budgets.splice(0)) b.close();
  redis.disconnect();
  await flushPrefix(prefix);
});

test('grants go round-robin over waiting tenants, not in arrival order', async () => {
  // 600/min = one grant per 100 ms, no burst: the order is decided by the ring alone.
  const budget = createModelBudget({ redis, redisPrefix: prefix, callsPerMinute: 600, burst: 1, logger: silentLogger() });
  budgets.push(budget);
  const order: string[] = [];
  const calls: Promise<void>[] = [];
  // A floods 6 calls before B and C ask for 2 each.
  for (let i = 0; i < 6; i++) calls.push(budget.acquire('a').then(() => void order.push('a')));
  for (let i = 0; i < 2; i++) calls.push(budget.acquire('b').then(() => void order.push('b')));
  for (let i = 0; i < 2; i++) calls.push(budget.acquire('c').then(() => void order.push('c')));
  await Promise.all(calls);
  // The first grant may go out before B and C queued; after that the three alternate.
  expect(order.join('')).toBe('abcabcaaaa');
});

test('two budgets (two processes) share one Redis rate; an aborted wait leaves the queue', async () => {
  const a = createModelBudget({ redis, redisPrefix: prefix, callsPerMinute: 60, burst: 2, logger: silentLogger() });
  const b = createModelBudget({ redis, redisPrefix: prefix, callsPerMinute: 60, burst: 2, logger: silentLogger() });
  budgets.push(a, b);
  // The burst (2) is shared: one call from each process uses it up.
  await a.acquire('t1');
  await b.acquire('t2');
  const controller = new AbortController();
  const waiting = b.acquire('t3', controller.signal);
  expect(b.stats()).toMatchObject({ waiting: 1, waitingTenants: 1 });
  controller.abort(Object.assign(new Error('cancelled'), { code: 'cancelled' }));
  await expect(waiting).rejects.toMatchObject({ code: 'cancelled' });
  expect(b.stats()).toMatchObject({ waiting: 0, waitingTenants: 0 });
});

test('0 calls per minute means unlimited', async () => {
  const budget = createModelBudget({ redis, redisPrefix: prefix, callsPerMinute: 0, logger: silentLogger() });
  budgets.push(budget);
  await Promise.all(Array.from({ length: 100 }, (_, i) => budget.acquire(`t${i % 3}`)));
  expect(budget.stats().granted).toBe(100);
});

test('each grant sends the script body once per connection, then only its SHA (EVALSHA)', async () => {
  const budget = createModelBudget({ redis, redisPrefix: prefix, callsPerMinute: 60_000, logger: silentLogger() });
  budgets.push(budget);
  // MONITOR on a second connection: what Redis is sent (the test double at the process boundary).
  const monitor = await monitorOf(`${prefix}:model-budget`);
  try {
    const scripts: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      const name = args[0]?.toLowerCase();
      if ((name === 'eval' || name === 'evalsha') && args[3] === `${prefix}:model-budget`) scripts.push(name);
    });
    for (let i = 0; i < 3; i++) await budget.acquire('a');
    await waitFor(() => scripts.length === 3, { what: 'MONITOR to report the three script runs' });
    expect(scripts).toEqual(['eval', 'evalsha', 'evalsha']);
  } finally {
    monitor.disconnect();
  }
});
