import { Kysely, PostgresDialect } from 'kysely';
import { Client, Pool, types } from 'pg';
import type { QueryConfig } from 'pg';
import type { Database } from './schema';
import { statementNameOf } from './prepared';
import { DatabaseUnavailableError, isConnectionLoss } from './database-unavailable';

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

/**
 * Postgres errors after which a connection prepares a named statement afresh under a new name:
 * 0A000 "cached plan must not change result type" (its table changed shape), 26000 "prepared
 * statement does not exist" (dropped behind the client's back: DEALLOCATE, a pooler).
 */
const REPREPARE_CODES = new Set(['0A000', '26000']);

/**
 * A pg client that runs the SQL of prepared queries (prepared.ts) as named statements: Postgres
 * parses and plans each once per connection instead of once per execution, and the client sends
 * Bind/Execute only. All other SQL goes through unchanged (unnamed, parsed every time).
 * A named statement whose table changed shape under it (a migration adding a column while this
 * process runs) fails with 0A000, one dropped behind our back with 26000; that connection then
 * prepares it afresh under a new name, and runs it again at once when it was not inside a
 * transaction (inside one, the caller gets the error: the transaction is aborted). (A transaction-mode pooler in front of
 * Postgres must support protocol-level prepared statements, e.g. PgBouncer >= 1.21.)
 */
class NamedStatementClient extends Client {
  /** Per statement name: how many times this connection had to prepare it afresh. */
  readonly renamed = new Map<string, number>();
}
const plainQuery = Client.prototype.query;
/**
 * A FATAL (or PANIC) error ends the server session: Postgres closes the socket right after sending
 * it (e.g. 57P01 after pg_terminate_backend). The failed query rejects before the socket's close is
 * read, so without this the client would go back to the pool as idle and the next request would be
 * handed a dead connection. Ending it now makes the pool discard it on release.
 */
function discardIfSessionEnded(client: Client, err: unknown) {
  const severity = (err as { severity?: string } | null)?.severity;
  if (severity === 'FATAL' || severity === 'PANIC') client.end().catch(() => undefined);
}

/** A connection-level failure as DatabaseUnavailableError (typed, so callers need no message matching); others as they are. */
function typed(client: Client, err: unknown): unknown {
  return err instanceof DatabaseUnavailableError || !isConnectionLoss(err, client as never) ? err : new DatabaseUnavailableError(err);
}

NamedStatementClient.prototype.query = function (this: NamedStatementClient, config: unknown, values?: unknown, callback?: unknown) {
  const base = typeof config === 'string' && typeof values !== 'function' && callback === undefined ? statementNameOf(config) : undefined;
  if (!base) {
    const result = (plainQuery as (...a: unknown[]) => unknown).call(this, config, values, callback);
    if (!(result instanceof Promise)) return result;
    return result.catch((err: unknown) => {
      discardIfSessionEnded(this, err);
      throw typed(this, err);
    });
  }
  const generation = this.renamed.get(base) ?? 0;
  const named: QueryConfig = { name: generation ? `${base}_${generation}` : base, text: config as string, values: values as unknown[] };
  const result = (plainQuery as (q: QueryConfig) => Promise<unknown>).call(this, named);
  return result.catch((err: { code?: string }) => {
    discardIfSessionEnded(this, err);
    if (!REPREPARE_CODES.has(err?.code ?? '')) throw typed(this, err);
    this.renamed.set(base, generation + 1);
    // Outside a transaction the failed statement changed nothing: run it once more, prepared afresh.
    // Inside one the transaction is now aborted, so the error goes to the caller (its retry runs anew).
    const status = (this as unknown as { getTransactionStatus(): string | null }).getTransactionStatus();
    if (status !== 'I') throw err;
    return (plainQuery as (q: QueryConfig) => Promise<unknown>).call(this, { ...named, name: `${base}_${generation + 1}` }).catch((e: unknown) => {
      throw typed(this, e);
    });
  });
} as typeof Client.prototype.query;

export function createDb(opts: DbOptions): Db {
  const pool = new Pool({
    Client: NamedStatementClient,
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
  // Kysely's pool: any failure to get a connection (refused, timed out, authentication) is the
  // database being unavailable, raised as such.
  const typedPool = {
    connect: () =>
      pool.connect().catch((err: unknown) => {
        throw new DatabaseUnavailableError(err);
      }),
    end: () => pool.end(),
  };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: typedPool }) });
}
