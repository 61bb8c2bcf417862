import { loadConfig } from '@agents/config';
import { createCredentialStore, createDb } from '@agents/db';
import { parseMasterKeys } from '@agents/vault';

/**
 * Master-key rotation (DESIGN.md decision 6). Run with VAULT_MASTER_KEY as a ring whose FIRST entry
 * is the new key: `new:<base64>,old:<base64>`. Every tenant data key wrapped by another kid is
 * unwrapped and re-wrapped with the new one; sealed credentials and webhook secrets are not touched
 * (they are encrypted under the data keys, which do not change). Idempotent: a second run re-wraps 0.
 * Afterwards the old key can be dropped from VAULT_MASTER_KEY on every process.
 *
 *   VAULT_MASTER_KEY="k2:$(openssl rand -base64 32),k1:<old>" npx tsx scripts/rotate-master-key.ts
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const ring = parseMasterKeys(config.vaultMasterKey);
  const db = createDb({ url: config.databaseUrl, max: 2 });
  try {
    const n = await createCredentialStore(db, ring).rotateMasterKey();
    const left = await db.selectFrom('tenant_data_keys').select('tenant_id').where('kid', '!=', ring.activeKid).execute();
    console.log(`re-wrapped ${n} tenant data key(s) with master key "${ring.activeKid}"; ${left.length} still under another key`);
    if (left.length) process.exitCode = 1;
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  // Vault and config errors name the entry and the problem, never key material.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
