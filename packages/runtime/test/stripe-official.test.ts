import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@agents/observability';
import { createRuntime } from '../src/runtime';
import { stripeOfficialEntry } from '../src/catalog';
import type { CatalogEntry } from '../src/catalog-types';
import { credentialsFrom, recorder } from './helpers';

/**
 * The documented official Stripe entry, run for real as far as this offline machine allows:
 * npx is forced offline with an empty cache, so it cannot fetch @stripe/mcp (nor would the
 * package reach mcp.stripe.com). The runtime must report a clear connection_failed — bounded by
 * the connect timeout, never a hang — and never leak the key. With network and a real key the
 * same entry starts and lists the key's tools.
 */
describe('official Stripe MCP entry (offline)', () => {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'runtime-npx-'));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('fails with connection_failed, a readable reason, and no secret', async () => {
    const documented = stripeOfficialEntry();
    if (documented.transport.type !== 'stdio') throw new Error('expected stdio');
    const offline: CatalogEntry = {
      ...documented,
      transport: {
        ...documented.transport,
        env: { ...documented.transport.env, npm_config_offline: 'true', npm_config_cache: cache },
      },
    };
    const rec = recorder();
    const runtime = createRuntime({
      catalog: { list: () => [offline], get: (id) => (id === offline.id ? offline : undefined) },
      credentials: credentialsFrom({ t1: { 'stripe-official': { values: { secret_key: 'rk_test_offline_secret_123' }, version: '1' } } }),
      logger: silentLogger(),
      onToolCall: rec.meter,
      connectTimeoutMs: 20_000,
      sweepIntervalMs: 0,
    });
    try {
      const s = runtime.sessions.create({ tenantId: 't1', environment: 'test', servers: ['stripe-official'] });
      expect(await s.tools()).toEqual([]); // unreachable server: left out, not thrown
      const r = await s.execute('stripe-official/list_customers', {});
      expect(r).toMatchObject({ success: false, error_code: 'connection_failed' });
      expect(r.error).toMatch(/could not connect to server stripe-official \(stdio "npx"\)/);
      expect(JSON.stringify(r)).not.toContain('rk_test_offline_secret_123');
      expect(rec.records).toEqual([expect.objectContaining({ error_code: 'connection_failed', denied: false })]);
      expect(runtime.stats().connections).toBe(0);
    } finally {
      await runtime.close();
    }
  });
});
