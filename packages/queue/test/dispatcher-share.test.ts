import type { RedisConnection, Dispatcher, Producer } from '@agents/queue';
import { createDispatcher } from '@agents/queue';
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

beforeEach(() => {
  ({ prefix, redis, sub, producer } = openQueueClients(1));
});

afterEach(async () => {
  for (const open of gates.values()) open();
  gates.clear();
  await dispatcher?.close(1000);
  dispatcher = undefined;
  await closeQueueClients({ prefix, redis, sub, producer });
});

test('a freed slot goes to the tenant with the fewest jobs running here, ties round-robin', async () => {
  for (let i = 0; i < 8; i++) await producer.enqueueRun({ job_id: `h${i}`, tenant_id: 'tenant_h' });
  const started: string[] = [];
  dispatcher = createDispatcher({
    redis,
    subscriber: sub,
    redisPrefix: prefix,
    slots: 4,
    lockMs: 5000,
    stalledCheckMs: 5000,
    logger,
    // Each job runs until the test opens its gate, so the test decides when a slot frees.
    handler: (job) =>
      new Promise<void>((resolve) => {
        started.push(job.id!);
        gates.set(job.id!, resolve);
      }),
  });
  await dispatcher.start();
  await waitFor(() => started.length === 4, { what: 'the heavy tenant filling every slot' });

  // A bursty tenant arrives while the heavy one holds all four slots.
  for (let i = 0; i < 3; i++) await producer.enqueueRun({ job_id: `b${i}`, tenant_id: 'tenant_b' });
  await waitFor(() => dispatcher!.stats().activeTenants === 2, { what: 'tenant_b announced' });

  const release = async (jobId: string) => {
    const before = started.length;
    gates.get(jobId)!();
    await waitFor(() => started.length === before + 1, { what: `the slot of ${jobId} refilled` });
    return started[started.length - 1]!.slice(0, 1);
  };
  // h holds 3 and b 0: b. Then h 2, b 1: b again (plain round-robin would have given h this one).
  expect(await release('h0')).toBe('b');
  expect(await release('h1')).toBe('b');
  // h 1, b 2: h (now 2 each). b0 ends: h 2, b 1: b.
  expect(await release('h2')).toBe('h');
  expect(await release('b0')).toBe('b');
  // Equal counts alternate as before: see 'slots are handed round-robin' in dispatcher.test.ts.
});
