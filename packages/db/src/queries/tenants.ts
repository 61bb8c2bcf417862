import type { Db } from '../connection';
import type { Automation, Tenant, TenantLimits, TenantPlan } from '../schema';

export interface NewTenantInput {
  id: string;
  name: string;
  servers: string[];
  limits: TenantLimits;
  plan: TenantPlan;
  instructions: string | null;
  webhook_url: string | null;
  automations?: Automation[];
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
      automations: JSON.stringify(t.automations ?? []),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function getTenant(db: Db, id: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  return db.selectFrom('tenants').selectAll().orderBy('id').execute();
}
