/**
 * Prepared queries (compile once, execute many): the values bind where the placeholders were,
 * constants stay, each shape of a shape-dependent query gets its own statement, the SQL runs as a
 * named statement Postgres parsed once per connection, and a table that changes shape under a
 * named statement (or a statement dropped behind the client) is prepared afresh: at once outside
 * a transaction, after one failed transaction inside one.
 */
import { sql } from 'kysely';
import { createDb, param, prepare } from '@agents/db';
import type { Db } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let one: Db; // one connection, so the named statements it prepared are all visible to it

beforeAll(async () => {
  tdb = await createTestDatabase('prepared');
  one = createDb({ url: tdb.url, max: 1 });
  await sql`CREATE TABLE things (id text PRIMARY KEY, kind text NOT NULL, n integer)`.execute(one);
  await sql`INSERT INTO things VALUES ('a', 'x', 1), ('b', 'x', 2), ('c', 'y', 3)`.execute(one);
});
afterAll(async () => {
  await one.destroy();
  await tdb.close();
});

// `things` is not in the typed schema: the builder is typed loosely for this test only.
type Loose = { selectFrom(t: string): any; insertInto(t: string): any };

test('values bind to their placeholders, constants stay, and the statement is parsed once per connection', async () => {
  const byKindAbove = prepare<{ kind: string; min: number }, { id: string }>('test_by_kind', (db) =>
    (db as unknown as Loose)
      .selectFrom('things')
      .select('id')
      .where('kind', '=', param('kind'))
      .where('n', '>=', param('min'))
      .where('id', '!=', 'zzz')
      .orderBy('id'),
  );
  expect((await byKindAbove.execute(one, { kind: 'x', min: 2 })).map((r) => r.id)).toEqual(['b']);
  expect((await byKindAbove.execute(one, { kind: 'x', min: 0 })).map((r) => r.id)).toEqual(['a', 'b']);
  expect(await byKindAbove.first(one, { kind: 'y', min: 0 })).toEqual({ id: 'c' });
  await expect(byKindAbove.execute(one, { kind: 'y' } as never)).rejects.toThrow('no value for parameter "min"');
  const prepared = await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements`.execute(one);
  const mine = prepared.rows.filter((r) => r.name.endsWith('test_by_kind'));
  expect(mine).toHaveLength(1);
  expect(mine[0]!.statement).toContain('"kind" = $1');
});

test('a shape-dependent query compiles one statement per shape', async () => {
  const insert = prepare<Record<string, unknown>, { id: string }>(
    'test_insert',
    (db, v) =>
      (db as unknown as Loose)
        .insertInto('things')
        .values(Object.fromEntries(Object.keys(v).map((k) => [k, param(k)])))
        .returning('id'),
    (v) => Object.keys(v).join(','),
  );
  expect(await insert.first(one, { id: 'd', kind: 'z' })).toEqual({ id: 'd' });
  expect(await insert.first(one, { id: 'e', kind: 'z', n: 7 })).toEqual({ id: 'e' });
  expect(await insert.first(one, { id: 'f', kind: 'z' })).toEqual({ id: 'f' });
  const rows = await sql<{ id: string; n: number | null }>`SELECT id, n FROM things WHERE kind = 'z' ORDER BY id`.execute(one);
  expect(rows.rows).toEqual([
    { id: 'd', n: null },
    { id: 'e', n: 7 },
    { id: 'f', n: null },
  ]);
  const names = (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements`.execute(one)).rows
    .map((r) => r.name)
    .filter((n) => n.includes('test_insert'));
  expect(names).toHaveLength(2);
});

test('a table changing shape under a named statement: outside a transaction it is prepared afresh and run at once; inside one the caller gets the error once', async () => {
  const all = prepare<{ id: string }, Record<string, unknown>>('test_all', (db) =>
    (db as unknown as Loose).selectFrom('things').selectAll().where('id', '=', param('id')),
  );
  expect(await all.first(one, { id: 'a' })).toEqual({ id: 'a', kind: 'x', n: 1 });
  await sql`ALTER TABLE things ADD COLUMN note text`.execute(one);
  expect(await all.first(one, { id: 'a' })).toEqual({ id: 'a', kind: 'x', n: 1, note: null });
  expect(await all.first(one, { id: 'b' })).toEqual({ id: 'b', kind: 'x', n: 2, note: null });
  await sql`ALTER TABLE things ADD COLUMN extra text`.execute(one);
  // In a transaction the failed statement aborted it: nothing can be retried inside; the caller's
  // retry (a new transaction) runs the fresh statement.
  await expect(one.transaction().execute((trx) => all.first(trx, { id: 'a' }))).rejects.toMatchObject({ code: '0A000' });
  expect(await one.transaction().execute((trx) => all.first(trx, { id: 'a' }))).toEqual({ id: 'a', kind: 'x', n: 1, note: null, extra: null });
});

test('a named statement dropped behind the client (DEALLOCATE) is prepared afresh and run at once', async () => {
  const byId = prepare<{ id: string }, { kind: string }>('test_dealloc', (db) =>
    (db as unknown as Loose).selectFrom('things').select('kind').where('id', '=', param('id')),
  );
  expect(await byId.first(one, { id: 'c' })).toEqual({ kind: 'y' });
  await sql`DEALLOCATE ALL`.execute(one);
  expect(await byId.first(one, { id: 'c' })).toEqual({ kind: 'y' });
  const names = (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements`.execute(one)).rows
    .map((r) => r.name)
    .filter((n) => n.includes('test_dealloc'));
  expect(names).toHaveLength(1);
  expect(names[0]).toMatch(/_1$/);
});
