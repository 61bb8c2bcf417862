import { Kysely, PostgresDialect } from 'kysely';
import { Pool, types } from 'pg';
import type { Database } from './schema';

// int8 (bigserial seq, count(*)) arrives as string by default; our counts fit in a double.
types.setTypeParser(20, (v) => Number(v));

export type Db = Kysely<Database>;

export interface DbOptions {
  url: string;
  /** Pool size per process. */
  max?: number;
  /** Fail a query that waits this long for a connection instead of hanging (ms). */
  connectionTimeoutMs?: number;
}

export function createDb(opts: DbOptions): Db {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    // A dead server must not leave queries waiting on TCP retransmits for minutes.
    keepAlive: true,
  });
  // An idle client losing its server (Postgres restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  // The pool listens for errors only on idle clients: a checked-out client whose server goes away
  // (Postgres restart: 57P01 / "Connection terminated") between two queries would emit an
  // unhandled 'error' and crash the process. The failed query still rejects; the pool discards the
  // broken client on release.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
