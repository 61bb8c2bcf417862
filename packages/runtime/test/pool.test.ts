import { silentLogger } from '@agents/observability';
import { createRuntime } from '../src/runtime';
import type { Runtime, RuntimeOptions } from '../src/runtime';
import { startFakeHttpServer } from './fixtures/fake-http-server';
import type { FakeHttpServer } from './fixtures/fake-http-server';
import { credentialsFrom, fakeCatalog } from './helpers';
import type { CredentialSet } from '../src/types';

describe('connection pool', () => {
  let fake: FakeHttpServer;
  const runtimes: Runtime[] = [];
  let table: Record<string, Record<string, CredentialSet>>;

  const make = (extra: Partial<RuntimeOptions> = {}, transport: 'http' | 'stdio' = 'http') => {
    const rt = createRuntime({
      catalog: fakeCatalog(fake.url, transport),
      credentials: credentialsFrom(table),
      logger: silentLogger(),
      sweepIntervalMs: 0,
      ...extra,
    });
    runtimes.push(rt);
    return rt;
  };
  const listCalls = () => fake.requestLog.filter((l) => l.method === 'tools/list').length;

  beforeAll(async () => {
    fake = await startFakeHttpServer();
  });
  beforeEach(() => {
    fake.requestLog.length = 0;
    table = {
      t1: { asaas: { values: { api_key: 'acct-pool-t1' }, version: '1' } },
      t2: { asaas: { values: { api_key: 'acct-pool-t2' }, version: '1' } },
    };
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    await fake.close();
  });

  it('reuses a warm connection (and its tool list) across sessions of the same tenant', async () => {
    const rt = make();
    for (let i = 0; i < 3; i++) {
      const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
      expect(await s.execute('asaas/list_payments', {})).toMatchObject({ success: true });
      await s.close();
    }
    expect(rt.stats()).toEqual({ connections: 1, sessions: 0 });
    expect(listCalls()).toBe(1);
    // Another tenant (or environment) never shares it.
    const s2 = rt.sessions.create({ tenantId: 't2', environment: 'test', servers: ['asaas'] });
    expect(await s2.execute('asaas/list_payments', {})).toMatchObject({ success: true });
    const s3 = rt.sessions.create({ tenantId: 't1', environment: 'live', servers: ['asaas'] });
    expect(await s3.execute('asaas/list_payments', {})).toMatchObject({ success: true });
    expect(rt.stats().connections).toBe(3);
  });

  it('session create does no I/O (no credentials lookup, no connection)', () => {
    const creds = credentialsFrom(table);
    const rt = make({ credentials: creds });
    rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas', 'stripe'] });
    expect(creds.calls).toBe(0);
    expect(rt.stats()).toEqual({ connections: 0, sessions: 1 });
  });

  it('evicts idle connections (injected clock) and reconnects on the next call', async () => {
    let t = 1_000_000;
    const rt = make({ now: () => t, idleMs: 60_000 });
    const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    await s.execute('asaas/list_payments', {});
    t += 59_999;
    expect(await rt.evictIdle()).toBe(0);
    t += 1;
    expect(await rt.evictIdle()).toBe(1);
    expect(rt.stats().connections).toBe(0);
    expect(await s.execute('asaas/list_payments', {})).toMatchObject({ success: true });
    expect(rt.stats().connections).toBe(1);
  });

  it('caps live connections, closing the least recently used idle one', async () => {
    let t = 0;
    const rt = make({ maxConnections: 1, now: () => ++t });
    const a = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const b = rt.sessions.create({ tenantId: 't2', environment: 'test', servers: ['asaas'] });
    expect(await a.execute('asaas/create_payment', { value: 1 })).toMatchObject({ data: { account: 'acct-pool-t1' } });
    expect(await b.execute('asaas/create_payment', { value: 1 })).toMatchObject({ data: { account: 'acct-pool-t2' } });
    expect(rt.stats().connections).toBe(1);
    expect(await a.execute('asaas/create_payment', { value: 2 })).toMatchObject({ data: { account: 'acct-pool-t1' } });
    expect(rt.stats().connections).toBe(1);
  });

  it('reconnects once when the server restarted (same port, sessions lost)', async () => {
    const store = new Map<string, unknown[]>();
    const first = await startFakeHttpServer({ store });
    const rt = make({ catalog: fakeCatalog(first.url) });
    const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    expect(await s.execute('asaas/create_payment', { value: 1 })).toMatchObject({ success: true });
    await first.close();
    const second = await startFakeHttpServer({ port: first.port, store });
    try {
      const r = await s.execute('asaas/create_payment', { value: 2 });
      expect(r).toMatchObject({ success: true, data: { id: 'pay_2', account: 'acct-pool-t1' } });
      expect(second.requestLog.filter((l) => l.method === 'tools/call')).toHaveLength(1);
    } finally {
      await second.close();
    }
    // Server gone for good: a clear connection_failed after the one reconnect attempt, no hang.
    const r = await s.execute('asaas/create_payment', { value: 3 });
    expect(r).toMatchObject({ success: false, error_code: 'connection_failed' });
  });

  it('opens a new entry when credentials change; the old one closes once its sessions are done', async () => {
    const rt = make();
    const old = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    expect(await old.execute('asaas/create_payment', { value: 1 })).toMatchObject({ data: { account: 'acct-pool-t1' } });
    table.t1!.asaas = { values: { api_key: 'acct-pool-t1-rotated' }, version: '2' };
    const fresh = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    expect(await fresh.execute('asaas/create_payment', { value: 1 })).toMatchObject({
      data: { account: 'acct-pool-t1-rotated' },
    });
    expect(rt.stats().connections).toBe(2);
    // The running session keeps the credentials it started with…
    expect(await old.execute('asaas/create_payment', { value: 2 })).toMatchObject({ data: { account: 'acct-pool-t1' } });
    await old.close();
    // …and the superseded connection is closed when it leaves.
    await new Promise((r) => setImmediate(r));
    expect(rt.stats().connections).toBe(1);
  });

  it('no credentials → credentials_missing, never connects', async () => {
    const rt = make();
    const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['stripe'] });
    const r = await s.execute('stripe/create_payment', { value: 1 });
    expect(r).toMatchObject({ success: false, error_code: 'credentials_missing', error: 'no "secret_key" credential for server stripe' });
    expect(fake.requestLog).toEqual([]);
    expect(rt.stats().connections).toBe(0);
  });

  it('credentials go only into the transport: headers for http, never args, results or errors', async () => {
    const rt = make();
    const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const r = await s.execute('asaas/fail', {});
    expect(JSON.stringify(r)).not.toContain('acct-pool-t1');
    expect(fake.headerLog.some((h) => h.authorization === 'Bearer acct-pool-t1')).toBe(true);
  });

  it('a stdio child gets only the template env plus PATH', async () => {
    process.env.RUNTIME_TEST_PARENT_SECRET = 'must-not-leak';
    try {
      const rt = make({}, 'stdio');
      const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
      const r = await s.execute('asaas/env_keys', {});
      const keys = (r.data as { keys: string[] }).keys;
      expect(keys).toContain('FAKE_ACCOUNT');
      expect(keys).toContain('PATH');
      expect(keys).not.toContain('RUNTIME_TEST_PARENT_SECRET');
      expect(keys).not.toContain('HOME');
      // The only others are set by the pnpm `.bin/tsx` shell shim itself (NODE_PATH, and PWD from sh).
      expect(keys.filter((k) => !['FAKE_ACCOUNT', 'PATH', 'NODE_PATH', 'PWD'].includes(k))).toEqual([]);
    } finally {
      delete process.env.RUNTIME_TEST_PARENT_SECRET;
    }
  });

  it('a stdio command that cannot start → connection_failed, promptly', async () => {
    const catalog = fakeCatalog(fake.url, 'stdio');
    const base = catalog.get('asaas')!;
    const broken = { ...base, transport: { type: 'stdio' as const, command: '/nonexistent/mcp-server', args: [], env: {} } };
    const rt = make({ catalog: { list: () => [broken], get: (id) => (id === 'asaas' ? broken : undefined) } });
    const s = rt.sessions.create({ tenantId: 't1', environment: 'test', servers: ['asaas'] });
    const r = await s.execute('asaas/create_payment', { value: 1 });
    expect(r).toMatchObject({ success: false, error_code: 'connection_failed' });
    expect(r.error).toContain('could not connect to server asaas');
  });
});
