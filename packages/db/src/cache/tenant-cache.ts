import type { Db } from '../connection';
import type { Tenant } from '../schema';
import { getTenant } from '../queries/tenants';
import { createSharedCache } from './shared-cache';
import type { InvalidationBus } from './invalidation-bus';

/** Backstop TTL; normal freshness comes from pub/sub invalidation (well under a second). */
export const TENANT_CACHE_TTL_MS = 1_000;

export interface TenantCache {
  /** The tenant row (disabled ones included: callers decide), or undefined. */
  get(tenantId: string): Promise<Tenant | undefined>;
  /** Call after committing a change to the tenant: every API and worker process re-reads it. */
  invalidate(tenantId: string): Promise<void>;
}

/** Tenant config as the API and workers read it: cached per process, invalidated everywhere on update. */
export function createTenantCache(opts: { db: Db; bus: InvalidationBus; ttlMs?: number }): TenantCache {
  return createSharedCache<Tenant>({
    bus: opts.bus,
    topic: 'tenant',
    ttlMs: opts.ttlMs ?? TENANT_CACHE_TTL_MS,
    load: (id) => getTenant(opts.db, id),
  });
}
