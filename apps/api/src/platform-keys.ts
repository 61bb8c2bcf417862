import { findPlatformKeyByHash, touchPlatformKey } from '@agents/db';
import type { Db, InvalidationBus } from '@agents/db';
import type { Logger } from '@agents/observability';
import { createHashedKeyResolver } from './hashed-keys';
import type { PlatformKeyResolver } from './middleware/auth';

export interface PlatformKeys extends PlatformKeyResolver {
  /** Call after revoking: the key stops working on every API process. */
  invalidate(keyHash: string): Promise<void>;
}

/** Platform keys (`csk_test_…` / `csk_live_…`, table platform_keys), resolved by hash through the shared key cache. */
export function createPlatformKeys(deps: { db: Db; bus: InvalidationBus; logger: Logger; now?: () => number }): PlatformKeys {
  const keys = createHashedKeyResolver({
    scheme: 'csk',
    bus: deps.bus,
    topic: 'platform_key',
    logger: deps.logger,
    now: deps.now,
    async load(hash) {
      const row = await findPlatformKeyByHash(deps.db, hash);
      if (!row) return undefined;
      return { keyId: row.id, environment: row.environment, hash: row.key_hash, revoked: row.revoked_at !== null };
    },
    touch: (keyId, granularityMs) => touchPlatformKey(deps.db, keyId, granularityMs),
  });
  return {
    async resolve(key, digest) {
      const found = await keys.resolve(key, digest);
      return found && { environment: found.environment, keyId: found.keyId };
    },
    invalidate: keys.invalidate,
  };
}
