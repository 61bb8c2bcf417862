import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@agents/observability';
import { DatabaseUnavailableError } from '@agents/db';
import { isRedisUnavailable } from '@agents/queue';
import { SessionError } from '@agents/sessions';
import { ApiError, errorBody } from '../errors';
import { bearerChallenge } from './auth';

/**
 * Redis or Postgres unavailable: the request is refused as 503, never as 500. Decided by type: the
 * clients our packages create raise DatabaseUnavailableError (@agents/db) and RedisUnavailableError
 * (@agents/queue) for connection-level failures; ioredis's own AbortError covers connections BullMQ
 * made itself.
 */
export function isInfrastructureError(err: unknown): boolean {
  return err instanceof DatabaseUnavailableError || isRedisUnavailable(err);
}

/** A 4xx status set by Express or body-parser on its own errors (never by ours: those are ApiError). */
function clientErrorStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function notFound(_req: Request, _res: Response, next: NextFunction) {
  next(new ApiError('not_found', 'No such route.'));
}

/** Last middleware: every error leaves as the documented JSON shape, never a stack trace. */
export function errorHandler(logger: Logger) {
  // Express recognises error handlers by arity; keep all four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiErr: ApiError;
    if (err instanceof ApiError) apiErr = err;
    else if (err instanceof SessionError) apiErr = new ApiError(err.code, err.message, err.details, err.headers);
    else if (isInfrastructureError(err)) {
      logger.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, path: req.path }, 'dependency unavailable');
      apiErr = new ApiError('service_unavailable', 'A backing service is unavailable; retry shortly.', undefined, { 'Retry-After': '5' });
    } else if (clientErrorStatus(err) !== undefined) {
      // Express/router client errors (e.g. a path segment that is not valid percent-encoding): our
      // codes and messages, never theirs.
      const status = clientErrorStatus(err)!;
      apiErr =
        status === 413
          ? new ApiError('payload_too_large', 'The body is too large.')
          : status === 415
            ? new ApiError('unsupported_media_type', 'Send the body as application/json.')
            : new ApiError('validation_failed', 'The request is malformed.', [{ path: 'request', message: 'could not be decoded' }]);
    } else {
      logger.error({ err, path: req.path }, 'unhandled error');
      apiErr = new ApiError('internal', 'Internal error.');
    }
    if (res.headersSent) return;
    // A 401 always says how to authenticate (RFC 9110 §15.5.2); routes with another scheme (Bull
    // Board's Basic) set their own challenge.
    const headers = apiErr.status === 401 && !apiErr.headers?.['WWW-Authenticate'] ? { ...apiErr.headers, ...bearerChallenge() } : apiErr.headers;
    for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
    res.status(apiErr.status).json(errorBody(apiErr));
  };
}
