import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { Db } from '../connection';
import type { Environment, PlatformKeysTable } from '../schema';

export type PlatformKey = Selectable<PlatformKeysTable>;

export interface NewPlatformKey {
  id: string;
  environment: Environment;
  name: string | null;
  prefix: string;
  /** SHA-256 (hex) of the full key; the key itself is never stored. */
  key_hash: string;
}

export async function insertPlatformKey(db: Db, k: NewPlatformKey): Promise<PlatformKey> {
  return db.insertInto('platform_keys').values(k).returningAll().executeTakeFirstOrThrow();
}

/**
 * One page of the platform keys not revoked, newest first by (created_at, id), fetching limit + 1
 * to know whether another page follows. Undefined when `startingAfter` names no such key.
 */
export async function listPlatformKeys(db: Db, q: { limit: number; startingAfter?: string }): Promise<{ data: PlatformKey[]; hasMore: boolean } | undefined> {
  let sel = db.selectFrom('platform_keys').selectAll().where('revoked_at', 'is', null);
  if (q.startingAfter) {
    const cursor = await db.selectFrom('platform_keys').select(['created_at', 'id']).where('id', '=', q.startingAfter).executeTakeFirst();
    if (!cursor) return undefined;
    sel = sel.where(sql<boolean>`(created_at, id) < (${cursor.created_at}, ${cursor.id})`);
  }
  const rows = await sel
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
  return { data: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}

export async function findPlatformKeyByHash(db: Db, keyHash: string): Promise<PlatformKey | undefined> {
  return db.selectFrom('platform_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

/** Marks the key revoked; returns its hash (to invalidate caches) or undefined if it was not live. */
export async function revokePlatformKey(db: Db, keyId: string): Promise<string | undefined> {
  const row = await db
    .updateTable('platform_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .returning(['key_hash'])
    .executeTakeFirst();
  return row?.key_hash;
}

/** Records use of a key, at most one write per `granularityMs` across all processes (as touchApiKey). */
export async function touchPlatformKey(db: Db, keyId: string, granularityMs: number): Promise<void> {
  await db
    .updateTable('platform_keys')
    .set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${granularityMs / 1000})`)]))
    .execute();
}
