import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors';
import type { ErrorDetail } from '../errors';

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

/** A UTF-16 surrogate without its pair (JSON can write one as \\ud800; no text encoding can carry it). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** In raw JSON text, the escapes that can produce U+0000 or a surrogate. */
const SUSPECT_ESCAPE = /\\u(?:0000|d[89a-f])/i;

/**
 * Where the first string (key or value) Postgres cannot store is, as a body path
 * (`body.input.name`) with the reason, or undefined. Text and jsonb refuse U+0000 and unpaired
 * surrogates, so such a body is refused as invalid up front rather than failing its write (a 500,
 * and its batch-mates' INSERT retried one by one). JSON can only carry either as an escape, so
 * given the raw text (`text`) the walk runs only when it has one. Iterative, like jsonDepth.
 */
export function unstorablePath(value: unknown, text?: string): ErrorDetail | undefined {
  if (text !== undefined && !SUSPECT_ESCAPE.test(text)) return undefined;
  const why = (str: string) =>
    str.includes('\0') ? 'must not contain the NUL character (U+0000)' : LONE_SURROGATE.test(str) ? 'must not contain an unpaired UTF-16 surrogate' : undefined;
  const stack: [unknown, string][] = [[value, 'body']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      const message = why(v);
      if (message) return { path: at, message };
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const message = why(k);
        if (message) return { path: at, message };
        stack.push([child, `${at}.${k}`]);
      }
    }
  }
  return undefined;
}

const unstorable = (detail: ErrorDetail) => new ApiError('validation_failed', 'The request body is invalid.', [detail]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether raw UTF-8 JSON text nests arrays/objects deeper than `max`, by counting brackets outside
 * strings. Stops at the first bracket past `max`, so a 50,000-deep body costs a few dozen bytes of
 * scanning instead of a full parse that builds 50,000 arrays. For valid JSON the count is exactly
 * the parsed depth; on invalid JSON it may see a depth the parser would have refused anyway.
 * Bytes of multi-byte UTF-8 sequences are all ≥ 0x80, so they never look like brackets or quotes.
 */
export function nestsDeeperThan(body: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

class TooDeep extends Error {
  readonly type = 'entity.too.deep';
}

const tooDeep = () =>
  new ApiError('validation_failed', 'The request body is invalid.', [{ path: 'body', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }]);
const tooLarge = () => new ApiError('payload_too_large', `The body exceeds ${BODY_LIMIT_BYTES} bytes.`);

/**
 * Answers only once the rest of the body has arrived, discarded unread (no buffering, no parse):
 * a client that sent `Connection: close` gets the socket closed right after the answer, and an
 * upload still in flight would make the kernel reset the connection, losing the answer before the
 * client reads it ("lingering close"). Bounded by the server's request timeout (408).
 */
function afterDraining(req: Request, answer: () => void): void {
  if (req.readableEnded) return answer();
  let answered = false;
  const once = () => {
    if (answered) return;
    answered = true;
    answer();
  };
  req.once('end', once);
  req.once('error', once);
  req.once('close', once);
  req.resume();
}

/**
 * JSON bodies only: a body-bearing request without application/json is 415; bad JSON is 400
 * invalid_json; nesting deeper than MAX_JSON_DEPTH is 400 validation_failed, found by a scan of the
 * raw bytes before the parse; over the limit is 413, decided from Content-Length before a byte of
 * the body is parsed or buffered (the rest is discarded before the answer), and while reading otherwise.
 */
export function jsonBody() {
  /** Requests whose raw UTF-8 body has none of SUSPECT_ESCAPE's escapes (set by verify). */
  const plainText = new WeakSet<object>();
  const parse = express.json({
    limit: BODY_LIMIT_BYTES,
    strict: true,
    type: () => true,
    // Runs on the raw bytes between reading and JSON.parse. UTF-16/32 bodies are left to the
    // parsed-depth check below (their brackets are not single bytes).
    verify: (req, _res, buf, encoding) => {
      if (encoding !== 'utf-8') return;
      if (nestsDeeperThan(buf, MAX_JSON_DEPTH)) throw new TooDeep();
      // The escapes are ASCII: latin1 decoding finds them without a UTF-8 decode.
      if (!SUSPECT_ESCAPE.test(buf.toString('latin1'))) plainText.add(req);
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const { headers } = req;
    const length = Number(headers['content-length'] ?? 0);
    const chunked = headers['transfer-encoding'] !== undefined;
    if (!(length > 0 || chunked)) {
      req.body = undefined;
      return next();
    }
    if (!req.is('application/json')) {
      return next(new ApiError('unsupported_media_type', 'Send the body as application/json.'));
    }
    // Uncompressed and declared too large: refuse now rather than after receiving all of it.
    const encoding = (req.get('content-encoding') ?? 'identity').toLowerCase();
    if (encoding === 'identity' && length > BODY_LIMIT_BYTES) return afterDraining(req, () => next(tooLarge()));
    parse(req, res, (err?: unknown) => {
      if (!err) {
        if (jsonDepth(req.body) > MAX_JSON_DEPTH) return next(tooDeep());
        // A UTF-8 body whose raw bytes hold no suspect escape needs no walk ('' stands for that text).
        const bad = unstorablePath(req.body, plainText.has(req) ? '' : undefined);
        if (bad) return next(unstorable(bad));
        return next();
      }
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.deep') return next(tooDeep());
      if (type === 'entity.too.large') return afterDraining(req, () => next(tooLarge()));
      if (type === 'entity.parse.failed' || err instanceof RangeError) return next(new ApiError('invalid_json', 'The body is not valid JSON.'));
      if (type === 'charset.unsupported' || type === 'encoding.unsupported')
        return next(new ApiError('unsupported_media_type', 'Send the body as UTF-8 application/json.'));
      next(err);
    });
  };
}
