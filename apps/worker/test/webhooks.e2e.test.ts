/**
 * Job callbacks end to end (issue #7): outbox written with the terminal transition, relay, the
 * system.webhooks queue, Standard Webhooks signatures checked with the `standardwebhooks` package
 * (a verifier we did not write), the retry schedule, 410, redirects, the delivery log, a worker
 * killed between job completion and delivery, and the SSRF gates (submission and connect time).
 * Real Postgres, Redis, sockets; the only test double is the callback receiver on loopback.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, configEnv, startTestStack, waitFor, rowCount } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import type { WorkerProcess } from '../src/worker';

jest.setTimeout(60_000);

const TENANT = 'tenant_hooks';
const ASAAS_KEY = 'aact_sandbox_hooks_e2e_key';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
let secret: string;

// The callback receiver: answers each path with its planned statuses in order (the last repeats).
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
const plans = new Map<string, number[]>();
const hits = (p: string) => received.filter((r) => r.path === p);

async function startReceiver(): Promise<void> {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const p = (req.url ?? '/').split('?')[0]!;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      received.push({ path: p, headers, body: Buffer.concat(chunks).toString('utf8') });
      const plan = plans.get(p) ?? [200];
      const status = plan[Math.min(hits(p).length - 1, plan.length - 1)]!;
      if (status >= 300 && status < 400) res.setHeader('location', `${receiverUrl}/landing`);
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}

/** A loopback port with nothing listening: connections are refused. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const okWorkflow = { type: 'workflow', servers: ['asaas'], steps: [{ tool: 'asaas/get_balance', args: {} }] };
const failingWorkflow = { type: 'workflow', servers: ['asaas'], steps: [{ tool: 'asaas/get_payment', args: { id: 'pay_does_not_exist' } }] };

async function submit(body: object, callbackUrl: string, client = call, tenant = TENANT): Promise<string> {
  const r = await client('POST', `/v1/tenants/${tenant}/jobs`, { body: { ...body, callback_url: callbackUrl } });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

async function terminal(jobId: string, client = call) {
  return waitFor(
    async () => {
      const r = await client('GET', `/v1/tenants/${TENANT}/jobs/${jobId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    { what: `job ${jobId} to finish` },
  );
}

async function deliveries(jobId: string, client = call): Promise<any[]> {
  const r = await client('GET', `/v1/tenants/${TENANT}/webhook-deliveries?job_id=${jobId}`);
  expect(r.status).toBe(200);
  return r.body.data;
}

/** Waits until every delivery of the job has settled (delivered or failed). */
async function settled(jobId: string, count = 1, client = call): Promise<any[]> {
  return waitFor(
    async () => {
      const d = await deliveries(jobId, client);
      return d.length === count && d.every((x) => x.status !== 'pending') ? d : undefined;
    },
    { what: `deliveries of ${jobId} to settle` },
  );
}

beforeAll(async () => {
  await startReceiver();
  stack = await startTestStack(apps, {
    label: 'webhooks',
    env: {
      WEBHOOK_RETRY_SCHEDULE: '200ms,400ms',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', // the receiver is on loopback
    },
  });
  call = stack.call;
  const t = await call('POST', '/v1/admin/tenants', { body: { id: TENANT, name: 'Hooks', servers: ['asaas'] } });
  expect(t.status).toBe(201);
  secret = t.body.webhook_secret;
  expect(secret).toMatch(/^whsec_/);
  const c = await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas?environment=live`, { body: { values: { api_key: ASAAS_KEY } } });
  expect(c.status).toBe(204);
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

describe('delivery', () => {
  test('a succeeded job delivers exactly one job.succeeded event that standardwebhooks verifies', async () => {
    const jobId = await submit(okWorkflow, `${receiverUrl}/succeeded`);
    const job = await terminal(jobId);
    expect(job.status).toBe('succeeded');
    const [d] = await settled(jobId);
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200, event_type: 'job.succeeded', url: `${receiverUrl}/succeeded` });
    expect(d.id).toMatch(/^whd_/);
    expect(d.event_id).toMatch(/^evt_/);

    expect(hits('/succeeded')).toHaveLength(1);
    const r = hits('/succeeded')[0]!;
    expect(r.headers['webhook-id']).toBe(d.event_id);
    expect(r.headers['content-type']).toBe('application/json');
    const event = new Webhook(secret).verify(r.body, r.headers) as any;
    expect(event).toMatchObject({ id: d.event_id, type: 'job.succeeded', data: { id: jobId, status: 'succeeded', tenant_id: TENANT } });
    expect(event.data.tool_calls).toHaveLength(1);
    expect(new Date(event.created_at).toISOString()).toBe(event.created_at);
    // A wrong secret must not verify (the check is real).
    expect(() => new Webhook('whsec_' + Buffer.alloc(24, 7).toString('base64')).verify(r.body, r.headers)).toThrow();
    // Exactly one event row for the job, written with its terminal state.
    const events = await stack.db.selectFrom('webhook_events').selectAll().where('job_id', '=', jobId).execute();
    expect(events).toHaveLength(1);
  });

  test('a failed job delivers exactly one job.failed event', async () => {
    const jobId = await submit(failingWorkflow, `${receiverUrl}/failed`);
    expect((await terminal(jobId)).status).toBe('failed');
    const [d] = await settled(jobId);
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, event_type: 'job.failed' });
    expect(hits('/failed')).toHaveLength(1);
    const event = new Webhook(secret).verify(hits('/failed')[0]!.body, hits('/failed')[0]!.headers) as any;
    expect(event.type).toBe('job.failed');
    expect(event.data.error.code).toBe('tool_failed');
  });

  test('500, 500, then 200: three attempts on the schedule, each in the delivery log', async () => {
    plans.set('/flaky', [500, 500, 200]);
    const jobId = await submit(okWorkflow, `${receiverUrl}/flaky`);
    const [d] = await settled(jobId);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, next_attempt_at: null });
    expect(hits('/flaky')).toHaveLength(3);
    // Every attempt is signed afresh and verifies; the event id is the same each time.
    for (const r of hits('/flaky')) {
      expect(r.headers['webhook-id']).toBe(d.event_id);
      expect((new Webhook(secret).verify(r.body, r.headers) as any).id).toBe(d.event_id);
    }
    const one = await call('GET', `/v1/tenants/${TENANT}/webhook-deliveries/${d.id}`);
    expect(one.status).toBe(200);
    expect(one.body.attempt_log.map((a: any) => [a.n, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
  });

  test('a receiver down for longer than the schedule ends failed', async () => {
    const jobId = await submit(okWorkflow, `http://127.0.0.1:${await deadPort()}/down`);
    const [d] = await settled(jobId);
    // Schedule 200ms,400ms: the first attempt and two retries.
    expect(d).toMatchObject({ status: 'failed', attempts: 3, last_status_code: null, last_error: 'connection_error', next_attempt_at: null });
    const one = await call('GET', `/v1/tenants/${TENANT}/webhook-deliveries/${d.id}`);
    expect(one.body.attempt_log.map((a: any) => a.error)).toEqual(['connection_error', 'connection_error', 'connection_error']);
  });

  test('410 Gone stops retrying at once; a redelivery is a new delivery of the same event', async () => {
    plans.set('/gone', [410, 200]);
    const jobId = await submit(okWorkflow, `${receiverUrl}/gone`);
    const [d] = await settled(jobId);
    expect(d).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 410 });
    expect(hits('/gone')).toHaveLength(1);

    const r = await call('POST', `/v1/tenants/${TENANT}/webhook-deliveries/${d.id}/redeliver`);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ event_id: d.event_id, status: 'pending', attempts: 0 });
    expect(r.body.id).not.toBe(d.id);
    const both = await settled(jobId, 2);
    expect(both.find((x) => x.id === r.body.id)).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });
    expect(both.find((x) => x.id === d.id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(hits('/gone').map((h) => h.headers['webhook-id'])).toEqual([d.event_id, d.event_id]);

    const missing = await call('POST', `/v1/tenants/${TENANT}/webhook-deliveries/whd_00000000000000000000000000/redeliver`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  test('without a callback_url the event goes to the tenant’s webhook_url; a redelivery follows the tenant’s current URL', async () => {
    const setTenantUrl = async (url: string | null) =>
      expect((await call('PATCH', `/v1/admin/tenants/${TENANT}`, { body: { webhook_url: url } })).status).toBe(200);
    await setTenantUrl(`${receiverUrl}/tenant-first`);
    try {
      const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: okWorkflow });
      expect(r.status).toBe(202);
      const [d] = await settled(r.body.id);
      expect(d).toMatchObject({ status: 'delivered', url: `${receiverUrl}/tenant-first` });
      expect(hits('/tenant-first')).toHaveLength(1);

      await setTenantUrl(`${receiverUrl}/tenant-moved`);
      const again = await call('POST', `/v1/tenants/${TENANT}/webhook-deliveries/${d.id}/redeliver`);
      expect(again.status).toBe(202);
      expect(again.body.url).toBe(`${receiverUrl}/tenant-moved`);
      await settled(r.body.id, 2);
      expect(hits('/tenant-moved').map((h) => h.headers['webhook-id'])).toEqual([d.event_id]);
    } finally {
      await setTenantUrl(null);
    }
  });

  test('redirects are not followed', async () => {
    plans.set('/moved', [302]);
    const jobId = await submit(okWorkflow, `${receiverUrl}/moved`);
    const [d] = await settled(jobId);
    expect(d).toMatchObject({ status: 'failed', attempts: 3, last_status_code: 302, last_error: 'redirect_not_followed' });
    expect(hits('/moved')).toHaveLength(3);
    expect(hits('/landing')).toHaveLength(0);
  });

  test('after a secret rotation both the old and the new secret verify', async () => {
    const rot = await call('POST', `/v1/admin/tenants/${TENANT}/webhook-secret/rotate`);
    expect(rot.status).toBe(200);
    const newSecret = rot.body.webhook_secret as string;
    expect(newSecret).not.toBe(secret);
    const jobId = await submit(okWorkflow, `${receiverUrl}/rotated`);
    await settled(jobId);
    const r = hits('/rotated')[0]!;
    expect(r.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect((new Webhook(newSecret).verify(r.body, r.headers) as any).data.id).toBe(jobId);
    expect((new Webhook(secret).verify(r.body, r.headers) as any).data.id).toBe(jobId);
    secret = newSecret;
  });

  test('the delivery log lists newest first and a tenant key sees only its own environment', async () => {
    const all = await call('GET', `/v1/tenants/${TENANT}/webhook-deliveries?limit=2`);
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(2);
    expect(all.body.has_more).toBe(true);
    expect(all.body.data[0].created_at >= all.body.data[1].created_at).toBe(true);
    const next = await call('GET', `/v1/tenants/${TENANT}/webhook-deliveries?limit=2&starting_after=${all.body.data[1].id}`);
    expect(next.body.data[0].id).not.toBe(all.body.data[1].id);

    const k = await call('POST', `/v1/admin/tenants/${TENANT}/api-keys`, { body: { environment: 'test' } });
    expect(k.status).toBe(201);
    const testKey = apiClient(stack.api.url, k.body.key);
    const mine = await testKey('GET', `/v1/tenants/${TENANT}/webhook-deliveries`);
    expect(mine.status).toBe(200);
    expect(mine.body.data).toEqual([]); // every delivery so far belongs to live jobs
    const other = await testKey('GET', `/v1/tenants/${TENANT}/webhook-deliveries/${all.body.data[0].id}`);
    expect(other.status).toBe(404);
    const bad = await call('GET', `/v1/tenants/${TENANT}/webhook-deliveries?job_id=nope`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
  });
});

describe('a worker killed between job completion and delivery', () => {
  let child: ChildProcess | undefined;
  let fresh: WorkerProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await fresh?.close(1000);
  });

  test('still delivers exactly once', async () => {
    // Only the child may run the job, and it delivers nothing.
    await stack.worker?.close(1000);
    stack.worker = undefined;
    const appDir = path.resolve(__dirname, '..');
    // node itself with tsx's loader (not the tsx CLI, which forks a second process that SIGKILL would miss).
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/job-only-worker.ts')], {
      cwd: appDir,
      env: { PATH: process.env.PATH ?? '', ...configEnv(stack.config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('job-only worker ready')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });

    const jobId = await submit(okWorkflow, `${receiverUrl}/after-crash`);
    expect((await terminal(jobId)).status).toBe('succeeded');
    proc.kill('SIGKILL');
    await exited;

    // The job is terminal, its event and delivery are committed with it, nothing was sent.
    const [pending] = await deliveries(jobId);
    expect(pending).toMatchObject({ status: 'pending', attempts: 0 });
    expect(hits('/after-crash')).toHaveLength(0);

    fresh = await startWorker(stack.config, silentLogger());
    const [d] = await settled(jobId);
    expect(d).toMatchObject({ id: pending.id, status: 'delivered', attempts: 1 });
    expect(hits('/after-crash')).toHaveLength(1);
    expect((new Webhook(secret).verify(hits('/after-crash')[0]!.body, hits('/after-crash')[0]!.headers) as any).data.id).toBe(jobId);
    await fresh.close(1000);
    fresh = undefined;
  });
});

describe('SSRF with WEBHOOK_ALLOW_PRIVATE_NETWORKS=false', () => {
  let strictApi: ApiServer;
  let strictWorker: WorkerProcess;
  let strictCall: ReturnType<typeof apiClient>;
  // At submission rebind.example.test looks public; when the worker connects it points at loopback.
  const submitDns: Record<string, string[]> = {
    'internal.example.test': ['10.20.30.40'],
    'mixed.example.test': ['93.184.216.34', '192.168.1.10'],
    'rebind.example.test': ['93.184.216.34'],
  };
  const deliverDns: Record<string, string[]> = { 'rebind.example.test': ['127.0.0.1'] };
  const resolver = (table: Record<string, string[]>) => async (host: string) => {
    const a = table[host];
    if (!a) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return a;
  };

  beforeAll(async () => {
    const strict = { ...stack.config, webhookAllowPrivateNetworks: false };
    strictApi = await startApi(strict, silentLogger(), { port: 0, resolve: resolver(submitDns) });
    strictWorker = await startWorker(strict, silentLogger(), { webhookResolve: resolver(deliverDns) });
    strictCall = apiClient(strictApi.url);
  });

  afterAll(async () => {
    await strictWorker?.close(1000);
    await strictApi?.close();
  });

  const jobCount = () => rowCount(stack.db, 'jobs');

  test.each([
    ['loopback IPv4', 'http://127.0.0.1/hook'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['loopback IPv6', 'http://[::1]/hook'],
    ['private 10/8', 'http://10.0.0.1/hook'],
    ['a host name resolving to a private address', 'http://internal.example.test/hook'],
    ['a host name with one private address among public ones', 'https://mixed.example.test/hook'],
    ['decimal-encoded 127.0.0.1', 'http://2130706433/hook'],
    ['hex-encoded 127.0.0.1', 'http://0x7f000001/hook'],
    ['localhost', 'http://localhost:8080/hook'],
    ['CGNAT', 'http://100.64.0.1/hook'],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/'],
    ['link-local', 'http://169.254.1.1/'],
  ])('refuses %s at submission (validation_failed)', async (_what, url) => {
    const before = await jobCount();
    const r = await strictCall('POST', `/v1/tenants/${TENANT}/jobs`, { body: { ...okWorkflow, callback_url: url } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.details).toEqual([expect.objectContaining({ path: 'body.callback_url' })]);
    expect(await jobCount()).toBe(before);
  });

  test('refuses at delivery time when DNS now points at a private address (rebinding)', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const jobId = await submit(okWorkflow, `http://rebind.example.test:${port}/rebind`, strictCall);
    expect((await terminal(jobId, strictCall)).status).toBe('succeeded');
    const [d] = await settled(jobId, 1, strictCall);
    expect(d).toMatchObject({ status: 'failed', attempts: 3, last_status_code: null, last_error: 'address_not_allowed' });
    expect(hits('/rebind')).toHaveLength(0);
  });
});
