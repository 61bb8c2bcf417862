import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors';

export const BODY_LIMIT_BYTES = 256 * 1024;
/** Deepest nesting of arrays/objects a body may have; deeper ones are 400 validation_failed (no API shape needs more than ~6). */
export const MAX_JSON_DEPTH = 32;

/** Iterative (a recursive walk could itself overflow the stack on a hostile body). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/**
 * JSON bodies only: a body-bearing request without application/json is 415; bad JSON is 400
 * invalid_json; over the limit is 413 (checked from Content-Length before reading, and while reading).
 */
export function jsonBody() {
  const parse = express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (!hasBody) {
      req.body = undefined;
      return next();
    }
    if (!req.is('application/json')) {
      return next(new ApiError('unsupported_media_type', 'Send the body as application/json.'));
    }
    parse(req, res, (err?: unknown) => {
      if (!err) {
        if (jsonDepth(req.body) > MAX_JSON_DEPTH) {
          return next(new ApiError('validation_failed', 'The request body is invalid.', [{ path: 'body', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }]));
        }
        return next();
      }
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') return next(new ApiError('payload_too_large', `The body exceeds ${BODY_LIMIT_BYTES} bytes.`));
      if (type === 'entity.parse.failed' || err instanceof RangeError) return next(new ApiError('invalid_json', 'The body is not valid JSON.'));
      if (type === 'charset.unsupported' || type === 'encoding.unsupported')
        return next(new ApiError('unsupported_media_type', 'Send the body as UTF-8 application/json.'));
      next(err);
    });
  };
}
