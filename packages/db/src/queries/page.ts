import { sql } from 'kysely';
import type { SelectQueryBuilder } from 'kysely';
import type { Database } from '../schema';

/** Tables listed to a tenant newest first, by (created_at, id). */
type TenantListTable = 'jobs' | 'webhook_deliveries';

export interface PageQuery {
  tenantId: string;
  limit: number;
  /** The last id of the previous page; it must be one of the tenant's rows (an unknown id gives an empty page). */
  startingAfter?: string;
}

/**
 * One page of a filtered tenant listing, newest first: the rows after the cursor row in
 * (created_at, id) order, fetching limit + 1 to know whether another page follows.
 */
export async function newestFirstPage<TB extends keyof Database, O>(
  query: SelectQueryBuilder<Database, TB, O>,
  table: TenantListTable,
  q: PageQuery,
): Promise<{ data: O[]; hasMore: boolean }> {
  if (q.startingAfter) {
    query = query.where(
      sql<boolean>`(created_at, id) < (SELECT c.created_at, c.id FROM ${sql.table(table)} c WHERE c.id = ${q.startingAfter} AND c.tenant_id = ${q.tenantId})`,
    );
  }
  const rows = await query
    .orderBy(sql.ref('created_at'), 'desc')
    .orderBy(sql.ref('id'), 'desc')
    .limit(q.limit + 1)
    .execute();
  return { data: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}
