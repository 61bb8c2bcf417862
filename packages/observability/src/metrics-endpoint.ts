import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics';

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** Bearer tokens allowed to scrape: the operator key and, when set, METRICS_TOKEN. */
  tokens: ReadonlyArray<string | undefined>;
  /** Refreshes scrape-time gauges (queue depths) before the registry is serialised. */
  beforeScrape?: () => Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time check of the presented bearer token against every allowed one. */
const UNAUTHORIZED_MESSAGE = 'Send the operator key or METRICS_TOKEN as a Bearer token.';
/** The API's error envelope (API.md), for a 401 of the metrics endpoint. */
const UNAUTHORIZED = { error: { code: 'unauthorized', message: UNAUTHORIZED_MESSAGE }, code: 'unauthorized', message: UNAUTHORIZED_MESSAGE };

export function scrapeAuthorized(authorization: string | undefined, tokens: ReadonlyArray<string | undefined>): boolean {
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '');
  if (!m) return false;
  const presented = digest(m[1]!);
  let ok = false;
  for (const t of tokens) if (t && timingSafeEqual(presented, digest(t))) ok = true;
  return ok;
}

/**
 * `GET /metrics` as a plain node handler, shared by the API (mounted in Express) and the worker's
 * own metrics port. Refusals use the API's error shape; the token is never echoed.
 */
export function createMetricsEndpoint(opts: MetricsEndpointOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!scrapeAuthorized(req.headers.authorization, opts.tokens)) {
      res.statusCode = 401;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      // RFC 6750 §3: invalid_token once a credential was presented, no error code when none was.
      res.setHeader('www-authenticate', req.headers.authorization ? 'Bearer realm="metrics", error="invalid_token"' : 'Bearer realm="metrics"');
      res.end(JSON.stringify(UNAUTHORIZED));
      return;
    }
    // A failed sample leaves the gauges at their last values; the rest of the scrape still answers.
    if (opts.beforeScrape) await opts.beforeScrape().catch(() => undefined);
    const body = await opts.metrics.registry.metrics();
    res.statusCode = 200;
    res.setHeader('content-type', opts.metrics.registry.contentType);
    res.setHeader('cache-control', 'no-store');
    res.end(body);
  };
}
