import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { Db } from '../connection';
import type { ApiKeysTable, Environment } from '../schema';

export type ApiKey = Selectable<ApiKeysTable>;

export interface NewApiKey {
  id: string;
  tenant_id: string;
  environment: Environment;
  name: string | null;
  prefix: string;
  /** SHA-256 (hex) of the full key; the key itself is never stored. */
  key_hash: string;
}

export async function insertApiKey(db: Db, k: NewApiKey): Promise<ApiKey> {
  return db.insertInto('api_keys').values(k).returningAll().executeTakeFirstOrThrow();
}

/** A tenant's keys, revoked ones excluded, newest first. */
export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKey[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

export async function findApiKeyByHash(db: Db, keyHash: string): Promise<ApiKey | undefined> {
  return db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

/** Marks the key revoked; returns its hash (to invalidate caches) or undefined if it was not live. */
export async function revokeApiKey(db: Db, tenantId: string, keyId: string): Promise<string | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .returning(['key_hash'])
    .executeTakeFirst();
  return row?.key_hash;
}

/**
 * Records use of a key. The row is written only when the stored time is older than `granularityMs`,
 * so a busy key costs at most one write per granularity across all processes.
 */
export async function touchApiKey(db: Db, keyId: string, granularityMs: number): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${granularityMs / 1000})`)]))
    .execute();
}
