import type { Db } from '@agents/db';

/** Every tenant id, in id order: one index-only read, cheap enough to run on each board refresh and scrape. */
export async function listTenantIds(db: Db, opts: { includeDisabled: boolean }): Promise<string[]> {
  let q = db.selectFrom('tenants').select('id').orderBy('id');
  if (!opts.includeDisabled) q = q.where('disabled', '=', false);
  return (await q.execute()).map((r) => r.id);
}
