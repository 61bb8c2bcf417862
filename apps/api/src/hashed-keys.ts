import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { createSharedCache } from '@agents/db';
import type { Environment, InvalidationBus } from '@agents/db';
import type { Logger } from '@agents/observability';

/**
 * What tenant keys (`ak_`) and platform keys (`csk_`) share: how one is made, hashed, looked up
 * through a cross-process cache and marked used. Each kind names its scheme and its table.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 40 base62 chars ≈ 238 bits of entropy (API.md asks for at least 32 chars). */
export const API_KEY_RANDOM_CHARS = 40;
/** What lists show of a key besides its `<scheme>_<environment>_`: 4 chars. */
const SHOWN_RANDOM_CHARS = 4;
/** last_used_at is written at most once per key per minute (not once per request). */
export const LAST_USED_GRANULARITY_MS = 60_000;
/** Backstop TTL of a cached key lookup; revocation normally reaches every process via pub/sub at once. */
export const API_KEY_CACHE_TTL_MS = 1_000;

/** `ak`: a tenant key; `csk`: a platform key (CodeSpar's SDK refuses keys not starting with `csk_`). */
export type KeyScheme = 'ak' | 'csk';

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

/** A new key: uniform base62 from the CSPRNG (randomInt has no modulo bias). */
export function generateApiKey(scheme: KeyScheme, environment: Environment): IssuedApiKey {
  let rand = '';
  for (let i = 0; i < API_KEY_RANDOM_CHARS; i++) rand += BASE62[randomInt(62)];
  const head = `${scheme}_${environment}_`;
  const key = head + rand;
  return { key, prefix: key.slice(0, head.length + SHOWN_RANDOM_CHARS), hash: hashApiKey(key) };
}

/** A stored key as the cache keeps it. */
export interface StoredKey {
  keyId: string;
  environment: Environment;
  hash: string;
  revoked: boolean;
}

export interface HashedKeyResolver<T extends StoredKey> {
  /**
   * The stored key a presented key is, by its SHA-256 (`digest` when the caller has it already);
   * undefined when unknown, revoked or not of this scheme and the stored environment.
   */
  resolve(key: string, digest?: Buffer): Promise<T | undefined>;
  /** Call after revoking: the key stops working on every API process. */
  invalidate(keyHash: string): Promise<void>;
}

export interface HashedKeyResolverDeps<T extends StoredKey> {
  scheme: KeyScheme;
  bus: InvalidationBus;
  /** Invalidation topic of this kind's cache. */
  topic: string;
  logger: Logger;
  /** The stored key with this hash, revoked or not; undefined when there is none. */
  load(hash: string): Promise<T | undefined>;
  /** Records use (at most one write per granularity across processes). */
  touch(keyId: string, granularityMs: number): Promise<void>;
  now?: () => number;
}

/**
 * Resolves presented keys by their SHA-256 through a cross-process cache (revocation drops the
 * entry everywhere at once; the 1 s TTL is the backstop for a lost message), and records last use
 * without a write per request.
 */
export function createHashedKeyResolver<T extends StoredKey>(deps: HashedKeyResolverDeps<T>): HashedKeyResolver<T> {
  const now = deps.now ?? Date.now;
  const cache = createSharedCache<T>({ bus: deps.bus, topic: deps.topic, ttlMs: API_KEY_CACHE_TTL_MS, load: deps.load });
  const touchedAt = new Map<string, number>();

  function touch(keyId: string) {
    const t = now();
    if ((touchedAt.get(keyId) ?? -Infinity) > t - LAST_USED_GRANULARITY_MS) return;
    touchedAt.set(keyId, t);
    if (touchedAt.size > 100_000) touchedAt.clear();
    deps.touch(keyId, LAST_USED_GRANULARITY_MS).catch((err: Error) => {
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
      if (!key.startsWith(`${deps.scheme}_${found.environment}_`)) return undefined;
      touch(found.keyId);
      return found;
    },
    invalidate: (hash) => cache.invalidate(hash),
  };
}
