import { randomBytes } from 'node:crypto';
import { createCredentialStore, createWebhookSecretStore, ensureDatabase, insertTenant, migrate, MIGRATIONS } from '@agents/db';
import { parseMasterKeys } from '@agents/vault';
import { createTestDatabase, dropDatabase, TEST_PG_BASE } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

const ring = parseMasterKeys(randomBytes(32).toString('base64'));
let tdb: TestDatabase;

const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

beforeAll(async () => {
  tdb = await createTestDatabase('stores');
  for (const id of ['tenant_a', 'tenant_b']) {
    await insertTenant(tdb.db, { id, name: id, servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
  }
});
afterAll(() => tdb.close());

describe('migrations', () => {
  it('are idempotent and safe when several processes run them at once', async () => {
    const name = `mig_${randomBytes(4).toString('hex')}`;
    const url = `${TEST_PG_BASE}/${name}`;
    try {
      await Promise.all([ensureDatabase(url), ensureDatabase(url)]);
      const results = await Promise.all([migrate(url, MIGRATIONS), migrate(url, MIGRATIONS), migrate(url, MIGRATIONS)]);
      // Exactly one of the racing runs applied everything; the others found nothing to do.
      expect(results.map((r) => r.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
      expect(await migrate(url, MIGRATIONS)).toEqual([]);
      // Rolling deploy: an old release boots against a database a newer one already migrated.
      // Its migrator must not fail on ids it does not know (kysely's Migrator would).
      expect(await migrate(url, MIGRATIONS.slice(0, -1))).toEqual([]);
    } finally {
      await dropDatabase(name);
    }
  });
});

describe('credential store', () => {
  const store = () => createCredentialStore(tdb.db, ring);

  it('round-trips values, lists names only, and versions every write', async () => {
    const s = store();
    await s.put('tenant_a', 'asaas', 'live', { api_key: 'aact_live_very_secret_value' });
    const first = await s.get('tenant_a', 'asaas', 'live');
    expect(first?.values).toEqual({ api_key: 'aact_live_very_secret_value' });
    await s.put('tenant_a', 'asaas', 'live', { api_key: 'aact_live_rotated_value' });
    const second = await s.get('tenant_a', 'asaas', 'live');
    expect(second?.values.api_key).toBe('aact_live_rotated_value');
    expect(second?.version).not.toBe(first?.version);
    const listed = await s.list('tenant_a');
    expect(listed).toEqual([{ server: 'asaas', environment: 'live', fields: ['api_key'], updated_at: expect.any(String) }]);
    expect(JSON.stringify(listed)).not.toContain('rotated_value');
    // Stored sealed: the plaintext is nowhere in the row.
    const row = await tdb.db.selectFrom('credentials').selectAll().where('tenant_id', '=', 'tenant_a').executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain('rotated_value');
    expect(await s.get('tenant_a', 'asaas', 'test')).toBeNull();
  });

  it("refuses a sealed secret moved onto another tenant's row", async () => {
    const s = store();
    await s.put('tenant_a', 'asaas', 'test', { api_key: 'aact_test_tenant_a_secret' });
    await s.put('tenant_b', 'asaas', 'test', { api_key: 'aact_test_tenant_b_secret' });
    const a = await tdb.db
      .selectFrom('credentials')
      .select('sealed')
      .where('tenant_id', '=', 'tenant_a')
      .where('environment', '=', 'test')
      .executeTakeFirstOrThrow();
    await tdb.db
      .updateTable('credentials')
      .set({ sealed: JSON.stringify(a.sealed) })
      .where('tenant_id', '=', 'tenant_b')
      .where('environment', '=', 'test')
      .execute();
    await expect(s.get('tenant_b', 'asaas', 'test')).rejects.toMatchObject({ code: 'decrypt_failed' });
  });

  it('re-wraps data keys on master-key rotation without touching secrets', async () => {
    const before = await tdb.db.selectFrom('credentials').select(['tenant_id', 'sealed']).orderBy('tenant_id').execute();
    const newRing = parseMasterKeys(`k2:${randomBytes(32).toString('base64')},k1:${ring.keys.get('k1')!.toString('base64')}`);
    const rotated = createCredentialStore(tdb.db, newRing);
    expect(await rotated.rotateMasterKey()).toBe(2);
    expect(await rotated.rotateMasterKey()).toBe(0);
    const keys = await tdb.db.selectFrom('tenant_data_keys').select('kid').execute();
    expect(keys.map((k) => k.kid)).toEqual(['k2', 'k2']);
    expect(await tdb.db.selectFrom('credentials').select(['tenant_id', 'sealed']).orderBy('tenant_id').execute()).toEqual(before);
    expect((await rotated.get('tenant_a', 'asaas', 'live'))?.values.api_key).toBe('aact_live_rotated_value');
    // The old ring alone can no longer unwrap the re-wrapped keys.
    await expect(createCredentialStore(tdb.db, ring).get('tenant_a', 'asaas', 'live')).rejects.toMatchObject({ code: 'unknown_kid' });
  });
});

describe('webhook secret store', () => {
  it('signs with both secrets during the 24 h overlap after a rotation, and only the newest after it', async () => {
    const newRing = parseMasterKeys(`k2:${randomBytes(32).toString('base64')}`);
    // tenant_a's data key was re-wrapped to k2 above; use a fresh tenant for an independent check.
    await insertTenant(tdb.db, { id: 'tenant_w', name: 'w', servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
    const s = createWebhookSecretStore(tdb.db, newRing);
    await s.add('tenant_w', 'whsec_first');
    expect(await s.signingSecrets('tenant_w')).toEqual(['whsec_first']);
    await s.rotate('tenant_w', 'whsec_second');
    expect(await s.signingSecrets('tenant_w')).toEqual(['whsec_second', 'whsec_first']);
    expect(await s.signingSecrets('tenant_w', new Date(Date.now() + 25 * 3600 * 1000))).toEqual(['whsec_second']);
    await s.rotate('tenant_w', 'whsec_third');
    // The oldest one stops at once: never more than two signatures.
    expect(await s.signingSecrets('tenant_w')).toEqual(['whsec_third', 'whsec_second']);
    const rows = await tdb.db.selectFrom('webhook_secrets').selectAll().where('tenant_id', '=', 'tenant_w').execute();
    expect(JSON.stringify(rows)).not.toMatch(/whsec_(first|second|third)/);
  });
});
