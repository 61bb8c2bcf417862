/**
 * A connection whose server session ended (FATAL, e.g. pg_terminate_backend) is never handed out
 * again: the query that saw the FATAL fails, the very next query on the same pool succeeds.
 */
import { sql } from 'kysely';
import { Client } from 'pg';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createDb, DatabaseUnavailableError } from '@agents/db';
import type { Db } from '@agents/db';
import { createTestDatabase, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let one: Db; // one connection: a dead one kept in the pool would be the next query's
let admin: Client;

beforeAll(async () => {
  tdb = await createTestDatabase('connection');
  one = createDb({ url: tdb.url, max: 1 });
  admin = new Client({ connectionString: tdb.url });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await one.destroy();
  await tdb.close();
});

test('a query whose backend is terminated fails; the next one, issued at once, gets a live connection', async () => {
  const slow = sql`SELECT pg_sleep(30)`.execute(one);
  const failed = slow.then(
    () => undefined,
    (err: { code?: string }) => err,
  );
  const pid = await waitFor(
    async () =>
      (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'select pg_sleep%'`)).rows[0]
        ?.pid,
    { what: 'the sleeping query to show in pg_stat_activity' },
  );
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  const err = await failed;
  expect(err).toMatchObject({ code: '57P01' });
  // Issued in the same turn as the failure is seen, before the socket's close could be read.
  const next = await sql<{ one: number }>`SELECT 1 AS one`.execute(one);
  expect(next.rows).toEqual([{ one: 1 }]);
});

describe('connection-level failures are DatabaseUnavailableError (callers decide by type, not message)', () => {
  test('a terminated backend, and a server that refuses connections', async () => {
    const slow = sql`SELECT pg_sleep(30)`.execute(one).then(
      () => undefined,
      (err: unknown) => err,
    );
    const pid = await waitFor(
      async () =>
        (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'select pg_sleep%'`)).rows[0]
          ?.pid,
      { what: 'the sleeping query to show in pg_stat_activity' },
    );
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const terminated = await slow;
    expect(terminated).toBeInstanceOf(DatabaseUnavailableError);
    expect(terminated).toMatchObject({ code: '57P01' });

    // A port nothing listens on: closed right after it was bound.
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const down = createDb({ url: `postgres://root@127.0.0.1:${port}/x`, max: 1, connectionTimeoutMs: 1_000 });
    try {
      const refused = await sql`SELECT 1`.execute(down).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(DatabaseUnavailableError);
      expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await down.destroy();
    }
  });

  test('an error Postgres answers with (a bad statement) stays what it is', async () => {
    const err = await sql`SELECT * FROM no_such_table`.execute(one).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(err).toMatchObject({ code: '42P01' });
  });
});
