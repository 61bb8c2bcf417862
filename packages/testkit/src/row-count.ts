import type { Database, Db } from '@agents/db';

/** How many rows a table holds now (tests that prove a refusal wrote nothing). */
export async function rowCount(db: Db, table: keyof Database): Promise<number> {
  const { n } = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}
