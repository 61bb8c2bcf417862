/**
 * scripts/rotate-master-key.ts as an operator runs it: a separate process, VAULT_MASTER_KEY as a
 * `new:…,old:…` ring. Data keys move to the new kid, sealed rows are byte-for-byte unchanged, and the
 * secrets decrypt with the new key alone.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createCredentialStore, createWebhookSecretStore, insertTenant } from '@agents/db';
import { parseMasterKeys } from '@agents/vault';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

const ROOT = path.resolve(__dirname, '../../..');
const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase('rotate');
});
afterAll(() => tdb.close());

function runRotation(vaultMasterKey: string) {
  return spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/rotate-master-key.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: tdb.url, VAULT_MASTER_KEY: vaultMasterKey },
    timeout: 60_000,
  });
}

test('re-wraps every data key with the new master key without touching a secret', async () => {
  const oldRing = parseMasterKeys(`old:${oldKey}`);
  for (const id of ['tenant_rot_a', 'tenant_rot_b']) {
    await insertTenant(tdb.db, { id, name: id, servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
    await createCredentialStore(tdb.db, oldRing).put(id, 'asaas', 'live', { api_key: `secret-of-${id}` });
    await createWebhookSecretStore(tdb.db, oldRing).add(id, `whsec_${randomBytes(24).toString('base64')}`);
  }
  const sealedBefore = await tdb.db.selectFrom('credentials').select(['tenant_id', 'sealed', 'version']).orderBy('tenant_id').execute();
  const wrappedBefore = await tdb.db.selectFrom('tenant_data_keys').selectAll().orderBy('tenant_id').execute();
  expect(wrappedBefore.map((r) => r.kid)).toEqual(['old', 'old']);

  const run = runRotation(`new:${newKey},old:${oldKey}`);
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/re-wrapped 2 tenant data key\(s\) with master key "new"; 0 still under another key/);
  // Key material never printed.
  expect(run.stdout + run.stderr).not.toContain(newKey);
  expect(run.stdout + run.stderr).not.toContain(oldKey);

  const wrappedAfter = await tdb.db.selectFrom('tenant_data_keys').selectAll().orderBy('tenant_id').execute();
  expect(wrappedAfter.map((r) => r.kid)).toEqual(['new', 'new']);
  expect(wrappedAfter.map((r) => r.wrapped)).not.toEqual(wrappedBefore.map((r) => r.wrapped));
  expect(await tdb.db.selectFrom('credentials').select(['tenant_id', 'sealed', 'version']).orderBy('tenant_id').execute()).toEqual(sealedBefore);

  // The old key can now be dropped everywhere.
  const newOnly = parseMasterKeys(`new:${newKey}`);
  const creds = createCredentialStore(tdb.db, newOnly);
  expect((await creds.get('tenant_rot_a', 'asaas', 'live'))?.values).toEqual({ api_key: 'secret-of-tenant_rot_a' });
  expect((await creds.get('tenant_rot_b', 'asaas', 'live'))?.values).toEqual({ api_key: 'secret-of-tenant_rot_b' });
  expect(await createWebhookSecretStore(tdb.db, newOnly).signingSecrets('tenant_rot_a')).toHaveLength(1);

  // Idempotent.
  const again = runRotation(`new:${newKey},old:${oldKey}`);
  expect(again.status).toBe(0);
  expect(again.stdout).toMatch(/re-wrapped 0 tenant data key/);
});

test('refuses a malformed ring without echoing it', () => {
  const bad = `new:not-base64!!,old:${oldKey}`;
  const run = runRotation(bad);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/VAULT_MASTER_KEY entry 1/);
  expect(run.stderr).not.toContain(oldKey);
});
