/**
 * Postgres could not be reached or the connection died under a query: the request should be
 * refused as 503 service_unavailable (and a job attempt retried), never answered as a bug.
 * `createDb` raises it at the driver boundary, deciding by error code and connection state (pg
 * gives no error class for these), so callers decide by type: `err instanceof DatabaseUnavailableError`.
 */
export class DatabaseUnavailableError extends Error {
  /** The driver's code when it had one (SQLSTATE like 57P01, or ECONNREFUSED…), else `database_unavailable`. */
  readonly code: string;
  constructor(override readonly cause: unknown) {
    super(`database unavailable: ${(cause as Error | undefined)?.message ?? String(cause)}`);
    this.name = 'DatabaseUnavailableError';
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === 'string' ? code : 'database_unavailable';
  }
}

/**
 * SQLSTATEs of a lost or refused server session: class 08 (connection exception) and 57P01-57P03
 * (admin shutdown, crash shutdown, cannot connect now).
 */
const SESSION_LOST = /^(08...|57P0[123])$/;

/**
 * Whether a pg query error means the connection is gone, from what pg tells us in structure: a
 * Node socket error (it has `syscall`), a session-ending SQLSTATE, or a client that pg itself no
 * longer considers queryable / connected (a terminated connection rejects its queries with a plain Error).
 */
export function isConnectionLoss(err: unknown, client?: { _queryable?: boolean; _ended?: boolean; _ending?: boolean }): boolean {
  const e = err as { code?: unknown; syscall?: unknown } | null;
  if (e && typeof e.syscall === 'string') return true;
  if (e && typeof e.code === 'string' && SESSION_LOST.test(e.code)) return true;
  return !!client && (client._queryable === false || client._ended === true || client._ending === true);
}
