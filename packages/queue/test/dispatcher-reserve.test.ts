/**
 * Headroom (reservedSlots): while a tenant with a backlog holds the slots and other tenants were
 * announced recently, free slots stay kept for them; alone, or once the window has passed, the busy
 * tenant uses every slot. Real Redis, real producer and dispatcher; each job runs until the test
 * opens its gate, so the test decides when a slot frees.
 */
import { createDispatcher } from '@agents/queue';
import type { Dispatcher, DispatcherOptions, Producer, RedisConnection } from '@agents/queue';
import { silentLogger } from '@agents/observability';
import { waitFor } from '@agents/testkit';
import { closeQueueClients, openQueueClients } from './queue-clients';

const logger = silentLogger();
let prefix: string;
let redis: RedisConnection;
let sub: RedisConnection;
let producer: Producer;
let dispatcher: Dispatcher | undefined;
const gates = new Map<string, () => void>();
/** Job id → Date.now() when its handler started / returned. */
const startedAt = new Map<string, number>();
const endedAt = new Map<string, number>();

beforeEach(() => {
  ({ prefix, redis, sub, producer } = openQueueClients(1));
});

afterEach(async () => {
  for (const open of gates.values()) open();
  gates.clear();
  startedAt.clear();
  endedAt.clear();
  enqueuedAt.clear();
  await dispatcher?.close(1000);
  dispatcher = undefined;
  await closeQueueClients({ prefix, redis, sub, producer });
});

/** Jobs whose id starts with `quick` return at once; every other job waits for its gate. */
async function start(o: Partial<DispatcherOptions> & { slots: number }) {
  dispatcher = createDispatcher({
    redis,
    subscriber: sub,
    redisPrefix: prefix,
    lockMs: 5000,
    stalledCheckMs: 5000,
    logger,
    handler: async (job) => {
      startedAt.set(job.id!, Date.now());
      if (!job.id!.startsWith('quick')) await new Promise<void>((resolve) => gates.set(job.id!, resolve));
      endedAt.set(job.id!, Date.now());
    },
    ...o,
  });
  await dispatcher.start();
}

const startedOf = (prefixOfId: string) => [...startedAt.keys()].filter((id) => id.startsWith(prefixOfId)).length;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Date.now() right before each quiet tenant's job was enqueued (its announcement follows the add). */
const enqueuedAt = new Map<string, number>();

/** Two tenants each run one job to completion, so this process has seen both announced. */
async function announceQuietTenants() {
  for (const q of ['q1', 'q2']) {
    enqueuedAt.set(q, Date.now());
    await producer.enqueueRun({ job_id: `quick_${q}`, tenant_id: `tenant_${q}` });
  }
  await waitFor(() => endedAt.has('quick_q1') && endedAt.has('quick_q2') && dispatcher!.stats().running === 0, { what: "the quiet tenants' first jobs" });
}

test('a busy tenant leaves R slots free for recently active tenants, and their next job starts in one at once', async () => {
  await start({ slots: 4, reservedSlots: 2, reserveWindowMs: 60_000 });
  await announceQuietTenants();
  for (let i = 0; i < 10; i++) await producer.enqueueRun({ job_id: `h${i}`, tenant_id: 'tenant_h' });
  await waitFor(() => startedOf('h') === 2, { what: 'the heavy tenant taking the unreserved slots' });
  // Two quiet tenants hold no slot here: two of the four stay free however long the backlog waits.
  await pause(300);
  expect(startedOf('h')).toBe(2);
  expect(dispatcher!.stats().running).toBe(2);

  // A quiet tenant's job starts although no heavy job has ended: it took a kept slot.
  await producer.enqueueRun({ job_id: 'q1_b', tenant_id: 'tenant_q1' });
  await waitFor(() => startedAt.has('q1_b'), { what: 'the quiet job starting' });
  expect([...gates.keys()].filter((id) => id.startsWith('h'))).toHaveLength(2);
  // The other quiet tenant still holds nothing here, so the last slot stays free for it.
  await pause(200);
  expect(startedOf('h')).toBe(2);
  expect(dispatcher!.stats().running).toBe(3);

  // A heavy job ending frees its slot for the heavy tenant again (it no longer holds the most:
  // 1 against tenant_q1's 1, and one free slot still remains for tenant_q2).
  gates.get('h0')!();
  await waitFor(() => startedOf('h') === 3, { what: 'the freed slot refilled' });
  await pause(200);
  expect(dispatcher!.stats().running).toBe(3);
});

test('tenants holding one slot each are not held back: the last slot goes to one of them instead of idling for the window', async () => {
  // Two reserved-for tenants announced, one slot kept for them; two busy tenants each get a slot.
  await start({ slots: 3, reservedSlots: 1, reserveWindowMs: 60_000 });
  await announceQuietTenants();
  // Interleaved, so that a and b each hold one slot (a tie) when their second jobs arrive; the third
  // slot would go unused for the whole window if the tie counted as "holding the most".
  for (let i = 0; i < 2; i++) {
    for (const t of ['a', 'b']) {
      await producer.enqueueRun({ job_id: `${t}${i}`, tenant_id: `tenant_${t}` });
      if (i === 0) await waitFor(() => startedAt.has(`${t}0`), { what: `${t}'s first job` });
    }
  }
  await waitFor(() => dispatcher!.stats().running === 3, { what: 'the third slot taken by a tenant holding one', timeoutMs: 3000 });
  expect(startedOf('a') + startedOf('b')).toBe(3);
  // A tenant at two slots is held back again: the remaining backlog job waits, nothing else starts.
  await pause(200);
  expect(startedOf('a') + startedOf('b')).toBe(3);
});

test('a lone busy tenant at one slot is still held back: the tie rule does not open the kept slot to it', async () => {
  await start({ slots: 2, reservedSlots: 1, reserveWindowMs: 60_000 });
  await announceQuietTenants();
  for (let i = 0; i < 3; i++) await producer.enqueueRun({ job_id: `h${i}`, tenant_id: 'tenant_h' });
  await waitFor(() => startedOf('h') === 1, { what: 'the busy tenant taking the unreserved slot' });
  await pause(300);
  expect(startedOf('h')).toBe(1);
  expect(dispatcher!.stats().running).toBe(1);
});

test('once the window passes without news of the others, the kept slots go back to the busy tenant (timer, no rescan)', async () => {
  const windowMs = 1000;
  // The rescan would wake the pump too; push it out of the test so only the reserve timer can.
  await start({ slots: 4, reservedSlots: 2, reserveWindowMs: windowMs, rescanMs: 60_000 });
  await announceQuietTenants();
  // Each quiet tenant was last announced when its job was enqueued (its finish found its queue
  // empty and announced nothing), so no earlier than just before the enqueue.
  const news = [enqueuedAt.get('q1')!, enqueuedAt.get('q2')!].sort((a, b) => a - b);
  for (let i = 0; i < 6; i++) await producer.enqueueRun({ job_id: `h${i}`, tenant_id: 'tenant_h' });
  await waitFor(() => startedOf('h') === 4, { what: 'the heavy tenant filling every slot after the window', timeoutMs: 10_000 });
  // No heavy job ended (all gated) and no message arrived: the 3rd and 4th slots were handed over
  // by the timer, one as each quiet tenant's announcement became a window old, not before.
  const handedBack = [...startedAt.entries()]
    .filter(([id]) => id.startsWith('h'))
    .map(([, t]) => t)
    .sort((a, b) => a - b);
  expect(handedBack[2]! - news[0]!).toBeGreaterThanOrEqual(windowMs - 5);
  expect(handedBack[3]! - news[1]!).toBeGreaterThanOrEqual(windowMs - 5);
  expect(dispatcher!.stats().running).toBe(4);
});

test('a tenant alone fills every slot at once; its own announcements reserve nothing', async () => {
  await start({ slots: 4, reservedSlots: 3, reserveWindowMs: 60_000 });
  for (let i = 0; i < 6; i++) await producer.enqueueRun({ job_id: `h${i}`, tenant_id: 'tenant_h' });
  await waitFor(() => startedOf('h') === 4, { what: 'every slot busy' });
  gates.get('h0')!();
  await waitFor(() => startedOf('h') === 5, { what: 'the freed slot refilled by the same tenant' });
  expect(dispatcher!.stats().running).toBe(4);
});

test('reservedSlots must leave at least one slot', () => {
  expect(() =>
    createDispatcher({
      redis,
      subscriber: sub,
      redisPrefix: prefix,
      slots: 4,
      reservedSlots: 4,
      lockMs: 5000,
      stalledCheckMs: 5000,
      logger,
      handler: async () => undefined,
    }),
  ).toThrow(RangeError);
});
