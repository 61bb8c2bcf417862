import { loadConfig, ConfigError, DEV_OPERATOR_API_KEY, parseRedisUrl } from '@agents/config';

describe('loadConfig', () => {
  it('works on an empty environment with development defaults and warnings', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.databaseUrl).toBe('postgres://root@127.0.0.1:5432/agents');
    expect(c.sandboxUrl).toBe('http://127.0.0.1:4010');
    expect(c.operatorApiKey).toBe(DEV_OPERATOR_API_KEY);
    expect(c.webhookAllowPrivateNetworks).toBe(true);
    expect(c.warnings).toHaveLength(2);
  });

  it('names the variable on bad input and never echoes its value', () => {
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'not a url secret-ish-value' });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/PORT/);
      expect(msg).toMatch(/REDIS_URL/);
      expect(msg).not.toMatch(/secret-ish-value/);
    }
  });

  it('takes a Redis Cluster as redis+cluster:// seed nodes and refuses malformed ones without echoing them', () => {
    expect(loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' }).redisUrl).toBe('redis+cluster://127.0.0.1:7000,127.0.0.1:7001');
    expect(parseRedisUrl('rediss+cluster://agents:s%40cret@h1:7000,[::1]:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'agents',
      password: 's@cret',
      tls: true,
    });
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    for (const bad of ['redis+cluster://:hunter2-pw@h1', 'redis+cluster://:hunter2-pw@h1:99999', 'http://:hunter2-pw@h1:80']) {
      expect(() => loadConfig({ REDIS_URL: bad })).toThrow(ConfigError);
      try {
        loadConfig({ REDIS_URL: bad });
      } catch (err) {
        expect((err as Error).message).toMatch(/REDIS_URL/);
        expect((err as Error).message).not.toMatch(/hunter2/);
      }
    }
  });

  it('requires real secrets in production and private callbacks are refused there by default', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/OPERATOR_API_KEY[\s\S]*VAULT_MASTER_KEY/);
    const c = loadConfig({ NODE_ENV: 'production', OPERATOR_API_KEY: 'x'.repeat(32), VAULT_MASTER_KEY: 'abc' });
    expect(c.webhookAllowPrivateNetworks).toBe(false);
    expect(c.warnings).toEqual([]);
  });

  it('keeps a quarter of the slots as headroom by default, takes the setting when given, and refuses headroom that leaves no slot', () => {
    // Unset: a quarter of the slots (50 by default), rounded down; 0 turns it off.
    expect(loadConfig({}).workerReservedSlots).toBe(12);
    expect(loadConfig({ WORKER_SLOTS: '3' }).workerReservedSlots).toBe(0);
    expect(loadConfig({ WORKER_RESERVED_SLOTS: '0' }).workerReservedSlots).toBe(0);
    expect(loadConfig({}).fairReserveWindowMs).toBe(10_000);
    expect(loadConfig({ WORKER_SLOTS: '8', WORKER_RESERVED_SLOTS: '2' }).workerReservedSlots).toBe(2);
    expect(() => loadConfig({ WORKER_SLOTS: '4', WORKER_RESERVED_SLOTS: '4' })).toThrow(/WORKER_RESERVED_SLOTS: must be less than WORKER_SLOTS \(4\)/);
    expect(() => loadConfig({ WORKER_RESERVED_SLOTS: '-1' })).toThrow(ConfigError);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ OPENAI_API_KEY: '' }).openai.apiKey).toBeUndefined();
  });
});
