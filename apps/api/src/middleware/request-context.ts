import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { parseTraceparent } from '@agents/observability';
import type { Logger, TraceParent } from '@agents/observability';
import { principalOf } from './auth';

/** A caller-supplied id is kept only if it cannot smuggle anything into logs (no spaces, no control characters). */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Paths polled by machines (probes, scrapers, the board's own XHRs) log at debug to keep info readable. */
const QUIET = /^\/(healthz|readyz|metrics)$|^\/admin\/queues\//;

/**
 * First middleware: assigns the request id (X-Request-Id if well formed, else a new one), echoes it,
 * keeps it on res.locals.requestId, keeps a valid W3C `traceparent` on res.locals.trace (a malformed
 * one is ignored, as the spec says: never an error), and writes one line per request when it ends
 * (with the request id and trace id): method, path without the query string, status, duration.
 * Never headers or bodies.
 */
export function requestContext(logger: Logger) {
  function onFinish(this: Response) {
    const res = this;
    const req = res.req;
    const path = req.originalUrl.split('?')[0]!;
    const level = res.statusCode >= 500 ? 'error' : QUIET.test(path) ? 'debug' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    const principal = res.locals.principal ? principalOf(res) : undefined;
    const line = {
      method: req.method,
      path,
      status: res.statusCode,
      duration_ms: Math.round(Number(process.hrtime.bigint() - (res.locals.startedAt as bigint)) / 1e5) / 10,
      ...(principal?.kind === 'tenant' ? { tenant_id: principal.tenantId } : {}),
      // A platform key's id (never the key) says which integration called, whatever tenant it named.
      ...(principal?.kind === 'platform' ? { platform_key_id: principal.keyId } : {}),
    };
    const trace = res.locals.trace as TraceParent | undefined;
    logger
      .child({ request_id: res.locals.requestId, ...(trace ? { trace_id: trace.traceId, parent_span_id: trace.parentSpanId } : {}) })
      [level](line, level === 'error' ? 'request failed' : 'request');
  }

  return (req: Request, res: Response, next: NextFunction) => {
    // The header as Node gives it (req.get's value; the fast submission path has no Express methods).
    const given = req.headers['x-request-id'] as string | undefined;
    const requestId = given && WELL_FORMED_ID.test(given) ? given : `req_${randomUUID().replace(/-/g, '')}`;
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    res.locals.trace = parseTraceparent(req.headers.traceparent);
    res.locals.startedAt = process.hrtime.bigint();
    // One listener function for every response (no closure per request).
    res.on('finish', onFinish);
    next();
  };
}
