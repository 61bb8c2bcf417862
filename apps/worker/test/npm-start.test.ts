/**
 * `npm start` (scripts/start.mjs) supervises real processes: with WORKER_PROCESSES=2 each worker
 * serves /metrics on WORKER_METRICS_PORT + its index; a SIGKILLed worker is restarted after its
 * backoff while the API keeps answering /readyz 200 and its jobs still finish; SIGTERM stops
 * everything with exit 0; a crash-looping child (5 exits in 60 s) makes the supervisor exit 1 and
 * say why. From source (`--source`), so the test never runs a stale build.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createTestDatabase, flushPrefix, isoDateFromNow, sparePort, testRedisPrefix, TEST_OPERATOR_KEY, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { alive, stopProcess } from './worker-processes';

const ROOT = path.resolve(__dirname, '../../..');
const AUTH = { authorization: `Bearer ${TEST_OPERATOR_KEY}` };

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port whose next port is free too (worker-1 and worker-2 take base and base + 1). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await sparePort();
    if (p < 65535 && (await portFree(p + 1))) return p;
  }
}

interface Supervisor {
  child: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
}

function supervise(env: Record<string, string>): Supervisor {
  let out = '';
  const child = spawn(process.execPath, ['scripts/start.mjs', '--source'], {
    cwd: ROOT,
    // AGENTS_NODE_REEXEC: run on this Node (npm test has already chosen it), never re-executed.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', AGENTS_NODE_REEXEC: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

/** The pid the supervisor last announced for a child ("worker-1 started (pid 123…"). */
function pidOf(out: string, name: string): number | undefined {
  const all = [...out.matchAll(new RegExp(`${name} started \\(pid (\\d+)`, 'g'))];
  return all.length ? Number(all[all.length - 1]![1]) : undefined;
}

async function metricsOk(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: AUTH, signal: AbortSignal.timeout(2000) });
    return r.status === 200 && (await r.text()).includes('agents_worker_running_jobs');
  } catch {
    return false;
  }
}

let tdb: TestDatabase;
const prefixes: string[] = [];
const running: ChildProcess[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('npmstart');
});

afterAll(async () => {
  // Whatever a failed test left: the supervisor stops its children on SIGTERM; a leftover child is killed by its pid.
  for (const c of running) if (alive(c)) await stopProcess(c, 'SIGTERM');
  await tdb?.close();
  for (const p of prefixes) await flushPrefix(p);
});

async function baseEnv(extra: Record<string, string>) {
  const prefix = testRedisPrefix();
  prefixes.push(prefix);
  const [apiPort, sandboxPort] = [await sparePort(), await sparePort()];
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    sandboxUrl: `http://127.0.0.1:${sandboxPort}`,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: tdb.url,
      REDIS_PREFIX: prefix,
      OPERATOR_API_KEY: TEST_OPERATOR_KEY,
      PORT: String(apiPort),
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
      SHUTDOWN_GRACE_MS: '2000',
      JOB_LOCK_MS: '3000',
      STALLED_CHECK_MS: '1000',
      WORKER_SLOTS: '4',
      ...extra,
    },
  };
}

test('WORKER_PROCESSES=2: each worker has its own metrics port, a SIGKILLed worker comes back while /readyz stays 200 and jobs finish, SIGTERM exits 0', async () => {
  const metricsBase = await freePortPair();
  const { env, apiUrl, sandboxUrl } = await baseEnv({ WORKER_PROCESSES: '2', WORKER_METRICS_PORT: String(metricsBase) });
  const sup = supervise(env);
  running.push(sup.child);

  await waitFor(async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, what: 'the API' });
  await waitFor(async () => (await metricsOk(metricsBase)) && (await metricsOk(metricsBase + 1)), { timeoutMs: 30_000 });
  expect(sup.out()).toMatch(new RegExp(`worker-1 started \\(pid \\d+, metrics port ${metricsBase}\\)`));
  expect(sup.out()).toMatch(new RegExp(`worker-2 started \\(pid \\d+, metrics port ${metricsBase + 1}\\)`));

  // A tenant with jobs in flight while the worker dies.
  const op = (method: string, p: string, body?: unknown) =>
    fetch(`${apiUrl}${p}`, { method, headers: { ...AUTH, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect((await op('POST', '/v1/admin/tenants', { id: 'tenant_sup', servers: ['asaas'] })).status).toBe(201);
  expect((await op('PUT', '/v1/tenants/tenant_sup/credentials/asaas', { values: { api_key: 'sup_account_0001' } })).status).toBe(204);
  const submit = async (i: number) => {
    const r = await op('POST', '/v1/tenants/tenant_sup/jobs', {
      type: 'workflow',
      steps: [
        { tool: 'asaas/create_customer', args: { name: `Cliente ${i}`, cpfCnpj: '52998224725' } },
        { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 10 + i, dueDate: isoDateFromNow(7) } },
      ],
    });
    expect(r.status).toBe(202);
    return ((await r.json()) as { id: string }).id;
  };

  // /readyz polled throughout the kill and the restart.
  const readyz: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      readyz.push(
        await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.status,
          () => 0,
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await submit(i));
  const victim = pidOf(sup.out(), 'worker-1')!;
  process.kill(victim, 'SIGKILL');
  for (let i = 6; i < 12; i++) ids.push(await submit(i));

  await waitFor(() => /worker-1 exited unexpectedly \(signal SIGKILL\); restarting it in 1 s/.test(sup.out()), { timeoutMs: 10_000 });
  await waitFor(() => (pidOf(sup.out(), 'worker-1') ?? victim) !== victim, { timeoutMs: 10_000 });
  await waitFor(() => metricsOk(metricsBase), { timeoutMs: 30_000 });
  expect(await metricsOk(metricsBase + 1)).toBe(true);

  const statuses = await waitFor(
    async () => {
      const all = await Promise.all(
        ids.map(async (id) => ((await (await op('GET', `/v1/tenants/tenant_sup/jobs/${id}`)).json()) as { status: string }).status),
      );
      return all.every((s) => ['succeeded', 'failed', 'cancelled'].includes(s)) ? all : undefined;
    },
    { timeoutMs: 30_000 },
  );
  polling = false;
  await poller;
  expect(statuses).toEqual(ids.map(() => 'succeeded'));
  // None ran twice: one Pix charge per job at the provider, even for jobs the killed worker held.
  const objects = (await (await fetch(`${sandboxUrl}/sandbox/asaas/objects`, { headers: { 'x-sandbox-account': 'sup_account_0001' } })).json()) as {
    data: { id: string }[];
  };
  expect(objects.data.filter((o) => o.id.startsWith('pay_')).length).toBe(ids.length);
  expect(readyz.length).toBeGreaterThan(10);
  expect(readyz.filter((s) => s !== 200)).toEqual([]);
  // The other worker, the API and the sandbox kept running: only worker-1 was restarted.
  expect(sup.out()).not.toMatch(/(worker-2|api|sandbox) exited/);
  expect(alive(sup.child)).toBe(true);

  sup.child.kill('SIGTERM');
  expect(await sup.exited).toBe(0);
  expect(sup.out()).not.toMatch(/did not stop cleanly/);
});

test('a child that exits 5 times within 60 s makes the supervisor stop everything and exit 1, saying why', async () => {
  // The worker's metrics port is held here, so every worker start fails (EADDRINUSE).
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  try {
    const held = (blocker.address() as net.AddressInfo).port;
    const { env } = await baseEnv({ WORKER_PROCESSES: '1', WORKER_METRICS_PORT: String(held), START_BACKOFF_MS: '100' });
    const sup = supervise(env);
    running.push(sup.child);
    expect(await sup.exited).toBe(1);
    expect(sup.out()).toMatch(/worker-1 exited unexpectedly \(exit code \d+\); restarting it in 0\.1 s/);
    expect(sup.out()).toMatch(/restarting it in 0\.8 s/);
    expect(sup.out()).toMatch(/npm start: exiting 1: worker-1 exited 5 times within 60 s .*crash-looping/);
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});
