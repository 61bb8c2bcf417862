import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { createSharedCache, findApiKeyByHash, touchApiKey } from '@agents/db';
import type { Db, Environment, InvalidationBus } from '@agents/db';
import type { Logger } from '@agents/observability';
import type { TenantKeyResolver } from './middleware/auth';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 40 base62 chars ≈ 238 bits of entropy (API.md asks for at least 32 chars). */
export const API_KEY_RANDOM_CHARS = 40;
/** What lists show of a key: `ak_test_` + 4 chars. */
const PREFIX_CHARS = 'ak_test_'.length + 4;
/** last_used_at is written at most once per key per minute (not once per request). */
export const LAST_USED_GRANULARITY_MS = 60_000;
/** Backstop TTL of a cached key lookup; revocation normally reaches every process via pub/sub at once. */
export const API_KEY_CACHE_TTL_MS = 1_000;

export interface IssuedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

/** Constant-time equality of two hex digests; different lengths are unequal (no secret in a length). */
function hexDigestEquals(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new tenant key: uniform base62 from the CSPRNG (randomInt has no modulo bias). */
export function generateApiKey(environment: Environment): IssuedApiKey {
  let rand = '';
  for (let i = 0; i < API_KEY_RANDOM_CHARS; i++) rand += BASE62[randomInt(62)];
  const key = `ak_${environment}_${rand}`;
  return { key, prefix: key.slice(0, PREFIX_CHARS), hash: hashApiKey(key) };
}

interface CachedKey {
  keyId: string;
  tenantId: string;
  environment: Environment;
  hash: string;
  revoked: boolean;
}

export interface TenantKeys extends TenantKeyResolver {
  /** Call after revoking: the key stops working on every API process. */
  invalidate(keyHash: string): Promise<void>;
}

/**
 * Resolves presented tenant keys by their SHA-256 through a cross-process cache (revocation drops
 * the entry everywhere), and records last use without a write per request.
 */
export function createTenantKeys(deps: { db: Db; bus: InvalidationBus; logger: Logger; now?: () => number }): TenantKeys {
  const now = deps.now ?? Date.now;
  const cache = createSharedCache<CachedKey>({
    bus: deps.bus,
    topic: 'api_key',
    ttlMs: API_KEY_CACHE_TTL_MS,
    async load(hash) {
      const row = await findApiKeyByHash(deps.db, hash);
      if (!row) return undefined;
      return { keyId: row.id, tenantId: row.tenant_id, environment: row.environment, hash: row.key_hash, revoked: row.revoked_at !== null };
    },
  });
  const touchedAt = new Map<string, number>();

  function touch(keyId: string) {
    const t = now();
    if ((touchedAt.get(keyId) ?? -Infinity) > t - LAST_USED_GRANULARITY_MS) return;
    touchedAt.set(keyId, t);
    if (touchedAt.size > 100_000) touchedAt.clear();
    touchApiKey(deps.db, keyId, LAST_USED_GRANULARITY_MS).catch((err: Error) => {
      touchedAt.delete(keyId);
      deps.logger.warn({ err: { message: err.message }, key_id: keyId }, 'could not record api key use');
    });
  }

  return {
    async resolve(key, digest) {
      const hash = digest ? digest.toString('hex') : hashApiKey(key);
      const found = await cache.get(hash);
      // The lookup is by hash already; the constant-time compare keeps it so should the lookup ever
      // change. Both are hex SHA-256 digests (64 chars), so they are compared as they are.
      if (!found || found.revoked || !hexDigestEquals(found.hash, hash)) return undefined;
      if (!key.startsWith(`ak_${found.environment}_`)) return undefined;
      touch(found.keyId);
      return { tenantId: found.tenantId, environment: found.environment, keyId: found.keyId };
    },
    invalidate: (hash) => cache.invalidate(hash),
  };
}
