import { sql } from 'kysely';
import type { Db } from '../connection';
import type { Tenant, TenantLimits, TenantPlan } from '../schema';
import { param, prepare } from '../prepared';

export interface NewTenantInput {
  id: string;
  name: string;
  servers: string[];
  limits: TenantLimits;
  plan: TenantPlan;
  instructions: string | null;
  webhook_url: string | null;
}

export async function insertTenant(db: Db, t: NewTenantInput): Promise<Tenant | undefined> {
  return db
    .insertInto('tenants')
    .values({
      id: t.id,
      name: t.name,
      servers: t.servers,
      limits: JSON.stringify(t.limits),
      plan: JSON.stringify(t.plan),
      instructions: t.instructions,
      webhook_url: t.webhook_url,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

const tenantById = prepare<{ id: string }, Tenant>('tenant_by_id', (db) => db.selectFrom('tenants').selectAll().where('id', '=', param('id')));

export async function getTenant(db: Db, id: string): Promise<Tenant | undefined> {
  return tenantById.first(db, { id });
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  return db.selectFrom('tenants').selectAll().orderBy('id').execute();
}

/** The fields PATCH /v1/admin/tenants/{id} may change; absent ones are left alone. */
export interface TenantPatch {
  name?: string;
  servers?: string[];
  limits?: TenantLimits;
  plan?: TenantPlan;
  instructions?: string | null;
  webhook_url?: string | null;
  disabled?: boolean;
}

export async function updateTenant(db: Db, id: string, p: TenantPatch): Promise<Tenant | undefined> {
  return db
    .updateTable('tenants')
    .set({
      ...(p.name !== undefined ? { name: p.name } : {}),
      ...(p.servers !== undefined ? { servers: p.servers } : {}),
      ...(p.limits !== undefined ? { limits: JSON.stringify(p.limits) } : {}),
      ...(p.plan !== undefined ? { plan: JSON.stringify(p.plan) } : {}),
      ...(p.instructions !== undefined ? { instructions: p.instructions } : {}),
      ...(p.webhook_url !== undefined ? { webhook_url: p.webhook_url } : {}),
      ...(p.disabled !== undefined ? { disabled: p.disabled } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Tenants newest first (API.md list convention); the cursor is the last id of the previous page. */
export async function listTenantsPage(db: Db, q: { limit: number; startingAfter?: string }): Promise<{ data: Tenant[]; hasMore: boolean }> {
  let query = db
    .selectFrom('tenants')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.startingAfter) {
    const after = q.startingAfter;
    query = query.where(sql<boolean>`(created_at, id) < (SELECT c.created_at, c.id FROM tenants c WHERE c.id = ${after})`);
  }
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}
