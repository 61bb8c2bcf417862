/**
 * Postgres refused a value itself, not the connection or the server's state: SQLSTATE class 22
 * (data exception: bad text, a character it cannot encode, a value out of range) or 54 (program
 * limit exceeded: a jsonb value too large). Retrying the same write cannot succeed, so a caller
 * ends what it was doing instead of retrying.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && (code.startsWith('22') || code.startsWith('54'));
}
