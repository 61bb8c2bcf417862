/** The parts of a W3C Trace Context `traceparent` header our logs carry. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** The caller's span (16 lowercase hex digits, not all zero): the parent of whatever we do for it. */
  parentSpanId: string;
  /** Trace flags, 2 hex digits (`01` = sampled). */
  flags: string;
}

/**
 * `version "-" trace-id "-" parent-id "-" trace-flags` (W3C Trace Context §3.2). Version `00` is
 * exactly these 55 characters; a later version may append `-`-separated fields, which are ignored
 * (§3.2.4). Version `ff` is invalid.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;

/**
 * Parses a `traceparent` header; undefined when absent or malformed (the spec says a receiver
 * then starts a new trace — never refuse the request for it). At most 512 characters are looked
 * at, so a hostile header costs nothing.
 */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  // Repeated headers are ambiguous (§3.2: one traceparent per request): ignored.
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, parentSpanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return undefined;
  return { traceId, parentSpanId, flags };
}
