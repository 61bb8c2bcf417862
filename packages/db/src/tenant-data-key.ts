import { generateDataKey, unwrapDataKey, wrapDataKey } from '@agents/vault';
import type { MasterKeyring } from '@agents/vault';
import type { Db } from './connection';

/**
 * The tenant's data key (DESIGN.md decision 6), unwrapped with the master keyring. With `create`,
 * a tenant without one gets one; concurrent creators converge on the single stored key.
 */
export async function tenantDataKey(db: Db, ring: MasterKeyring, tenantId: string, create: boolean): Promise<Buffer | null> {
  const row = await db.selectFrom('tenant_data_keys').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  if (row) return unwrapDataKey(ring, tenantId, { kid: row.kid, wrapped: row.wrapped });
  if (!create) return null;
  const wrapped = wrapDataKey(ring, tenantId, generateDataKey());
  await db
    .insertInto('tenant_data_keys')
    .values({ tenant_id: tenantId, kid: wrapped.kid, wrapped: wrapped.wrapped })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  // Another process may have won the insert: always use the stored key.
  return tenantDataKey(db, ring, tenantId, false);
}
