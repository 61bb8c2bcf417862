import { findApiKeyByHash, touchApiKey } from '@agents/db';
import type { Db, Environment, InvalidationBus } from '@agents/db';
import type { Logger } from '@agents/observability';
import { createHashedKeyResolver } from './hashed-keys';
import type { TenantKeyResolver } from './middleware/auth';

export interface TenantKeys extends TenantKeyResolver {
  /** Call after revoking: the key stops working on every API process. */
  invalidate(keyHash: string): Promise<void>;
}

/** Tenant keys (`ak_test_…` / `ak_live_…`, table api_keys), resolved by hash through the shared key cache. */
export function createTenantKeys(deps: { db: Db; bus: InvalidationBus; logger: Logger; now?: () => number }): TenantKeys {
  const keys = createHashedKeyResolver<{ keyId: string; tenantId: string; environment: Environment; hash: string; revoked: boolean }>({
    scheme: 'ak',
    bus: deps.bus,
    topic: 'api_key',
    logger: deps.logger,
    now: deps.now,
    async load(hash) {
      const row = await findApiKeyByHash(deps.db, hash);
      if (!row) return undefined;
      return { keyId: row.id, tenantId: row.tenant_id, environment: row.environment, hash: row.key_hash, revoked: row.revoked_at !== null };
    },
    touch: (keyId, granularityMs) => touchApiKey(deps.db, keyId, granularityMs),
  });
  return {
    async resolve(key, digest) {
      const found = await keys.resolve(key, digest);
      return found && { tenantId: found.tenantId, environment: found.environment, keyId: found.keyId };
    },
    invalidate: keys.invalidate,
  };
}
