import type { Db } from '../connection';
import type { Environment } from '../schema';

/**
 * Executed (not denied) tool calls of a tenant in one environment with occurred_at in [from, to).
 * Served by usage_events_tenant_time; the quota calls it once per tenant-month to seed its Redis
 * counter, not per tool call.
 */
export async function countExecutedToolCalls(db: Db, tenantId: string, environment: Environment, from: Date, to: Date): Promise<number> {
  const row = await db
    .selectFrom('usage_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('environment', '=', environment)
    .where('kind', '=', 'tool_call')
    .where('denied', '=', false)
    .where('occurred_at', '>=', from)
    .where('occurred_at', '<', to)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
