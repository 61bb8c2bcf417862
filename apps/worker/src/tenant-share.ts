/**
 * A per-tenant cap on the slots of one shared consumer (webhook delivery): a tenant holds at most
 * `perTenant` of them at once, so its slow endpoints (each attempt may take the full 10 s) cannot
 * keep another tenant's callbacks waiting. Per process: every process caps the same way, so a
 * tenant's share of the fleet's slots is the same as of one process's.
 */
export interface TenantShare {
  /** Takes one of the tenant's slots; false when it holds its share already. */
  tryAcquire(tenantId: string): boolean;
  release(tenantId: string): void;
}

export function createTenantShare(perTenant: number): TenantShare {
  const held = new Map<string, number>();
  return {
    tryAcquire(tenantId) {
      const n = held.get(tenantId) ?? 0;
      if (n >= perTenant) return false;
      held.set(tenantId, n + 1);
      return true;
    },
    release(tenantId) {
      const n = (held.get(tenantId) ?? 1) - 1;
      if (n <= 0) held.delete(tenantId);
      else held.set(tenantId, n);
    },
  };
}
