import type { Db } from '../connection';
import type { Automation, AutomationsByEnvironment, Environment } from '../schema';

/**
 * A tenant's automations, kept per environment (migration 0007): what a hook for environment E
 * runs, and what a key of environment E writes. No row is an empty list.
 */
export async function getAutomations(db: Db, tenantId: string, environment: Environment): Promise<Automation[]> {
  const row = await db
    .selectFrom('tenant_automations')
    .select('automations')
    .where('tenant_id', '=', tenantId)
    .where('environment', '=', environment)
    .executeTakeFirst();
  return row?.automations ?? [];
}

/** Replaces one environment's list (the other is untouched); returns the stored list. */
export async function setAutomations(db: Db, tenantId: string, environment: Environment, list: Automation[]): Promise<Automation[]> {
  const row = await db
    .insertInto('tenant_automations')
    .values({ tenant_id: tenantId, environment, automations: JSON.stringify(list) })
    .onConflict((oc) => oc.columns(['tenant_id', 'environment']).doUpdateSet({ automations: JSON.stringify(list), updated_at: new Date() }))
    .returning('automations')
    .executeTakeFirstOrThrow();
  return row.automations;
}

/** Both environments' lists of each tenant asked for (tenants without rows get empty lists). */
export async function listAutomationsByEnvironment(db: Db, tenantIds: readonly string[]): Promise<Map<string, AutomationsByEnvironment>> {
  const out = new Map<string, AutomationsByEnvironment>(tenantIds.map((id) => [id, { test: [], live: [] }]));
  if (!tenantIds.length) return out;
  const rows = await db
    .selectFrom('tenant_automations')
    .select(['tenant_id', 'environment', 'automations'])
    .where('tenant_id', 'in', [...tenantIds])
    .execute();
  for (const r of rows) out.get(r.tenant_id)![r.environment] = r.automations;
  return out;
}
