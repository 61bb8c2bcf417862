/**
 * Callback delivery is fair between tenants: one tenant's slow receivers hold at most its share of
 * a process's delivery slots, so another tenant's callback is delivered while they hang; and a
 * redelivery pressed again and again keeps one delivery of the event in flight. Real Postgres,
 * Redis, worker; the only test double is the callback receiver on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import { DEFAULT_DELIVERY_CONCURRENCY, tenantShareOf } from '../src/webhook-delivery';

jest.setTimeout(60_000);

const SLOW = 'tenant_slow_hooks';
const QUICK = 'tenant_quick_hooks';
const SHARE = tenantShareOf(DEFAULT_DELIVERY_CONCURRENCY);

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;

// The receiver: `/hang` holds every request until released, `/redeliver` all but its first;
// anything else answers 200 at once.
let receiver: http.Server;
let receiverUrl: string;
const hanging: http.ServerResponse[] = [];
let maxHanging = 0;
const quickHits: string[] = [];
let holding = true;
const heldRedeliveries: http.ServerResponse[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/hang' && holding) {
        hanging.push(res);
        maxHanging = Math.max(maxHanging, hanging.filter((r) => !r.writableEnded).length);
        return;
      }
      if (req.url !== '/hang') quickHits.push(req.url ?? '');
      if (req.url === '/redeliver' && quickHits.filter((u) => u === '/redeliver').length > 1) {
        heldRedeliveries.push(res);
        return;
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startTestStack(apps, { label: 'hookfair', env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE: '200ms' } });
  call = stack.call;
  for (const id of [SLOW, QUICK]) {
    expect((await call('POST', '/v1/admin/tenants', { body: { id, name: id, servers: ['asaas'] } })).status).toBe(201);
    expect((await call('PUT', `/v1/tenants/${id}/credentials/asaas?environment=live`, { body: { values: { api_key: `aact_${id}` } } })).status).toBe(204);
  }
});

afterAll(async () => {
  holding = false;
  for (const r of [...hanging, ...heldRedeliveries]) if (!r.writableEnded) r.end('ok');
  await stack?.stop();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

const workflow = { type: 'workflow', servers: ['asaas'], steps: [{ tool: 'asaas/get_balance', args: {} }] };
const submit = async (tenant: string, path: string) => {
  const r = await call('POST', `/v1/tenants/${tenant}/jobs`, { body: { ...workflow, callback_url: `${receiverUrl}${path}` } });
  expect(r.status).toBe(202);
  return r.body.id as string;
};

test("a tenant's hanging receivers hold at most its share of delivery slots; another tenant's callback goes through meanwhile", async () => {
  // More hanging deliveries than the process has slots: without a share they would take all of them.
  for (let i = 0; i < DEFAULT_DELIVERY_CONCURRENCY + 4; i++) await submit(SLOW, '/hang');
  await waitFor(async () => hanging.length >= SHARE || undefined, { what: 'the slow tenant to fill its share' });
  await submit(QUICK, '/quick');
  // Attempts time out after 10 s; the quick callback must arrive while every slow one still hangs.
  await waitFor(async () => quickHits.length === 1 || undefined, { what: 'the quick tenant callback', timeoutMs: 8_000 });
  expect(hanging.every((r) => !r.writableEnded)).toBe(true);
  expect(maxHanging).toBe(SHARE);
});

test('redelivering an event whose delivery is still pending returns that delivery: one in flight', async () => {
  holding = false;
  const jobId = await submit(QUICK, '/redeliver');
  const [first] = await waitFor(
    async () => {
      const d = (await call('GET', `/v1/tenants/${QUICK}/webhook-deliveries?job_id=${jobId}`)).body.data;
      return d.length === 1 && d[0].status === 'delivered' ? d : undefined;
    },
    { what: 'the first delivery' },
  );
  // The redelivery's request is held by the receiver, so it stays pending while it is pressed again.
  const presses = [await call('POST', `/v1/tenants/${QUICK}/webhook-deliveries/${first.id}/redeliver`)];
  await waitFor(async () => heldRedeliveries.length === 1 || undefined, { what: 'the redelivery to reach the receiver' });
  presses.push(...(await Promise.all(Array.from({ length: 4 }, () => call('POST', `/v1/tenants/${QUICK}/webhook-deliveries/${first.id}/redeliver`)))));
  expect(presses.map((p) => p.status)).toEqual([202, 202, 202, 202, 202]);
  expect(new Set(presses.map((p) => p.body.id)).size).toBe(1);
  heldRedeliveries[0]!.end('ok');
  const all = await waitFor(
    async () => {
      const d = (await call('GET', `/v1/tenants/${QUICK}/webhook-deliveries?job_id=${jobId}`)).body.data;
      return d.every((x: { status: string }) => x.status !== 'pending') ? d : undefined;
    },
    { what: 'the redelivery to settle' },
  );
  expect(all).toHaveLength(2);
});
