import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';

/**
 * The fetch the MCP SDK's Streamable HTTP transport makes its requests with: the subset of fetch
 * that transport uses, on undici's `request()` over a keep-alive connection pool (an undici Agent,
 * one Pool per origin) instead of the global fetch.
 *
 * Why: in the pipeline benchmark a worker spent ~15 % of its CPU in fetch's machinery around each
 * tool call (the fetch algorithm, WHATWG streams for a body of a few hundred bytes, Response and
 * Headers objects). `request()` skips that machinery: a JSON answer is read with the body's own
 * `text()`/`json()`, and a web stream is made only for a body read as a stream (SSE).
 *
 * Semantics kept from fetch (and from signalIsolatingFetch): the request's signal aborts it and its
 * body (rejecting with the signal's reason), and undici removes its listener on that signal as
 * soon as the body has closed (read to the end, cancelled or failed), so one connection-wide signal
 * shared by thousands of requests holds no listeners; network errors reject with
 * TypeError('fetch failed', { cause }) as fetch does, so callers reading `cause.code` still work;
 * compressed answers are decoded. A request that failed on a socket the server had closed is
 * retried (at most 3 times) only when its method is idempotent: a POST (an MCP tool call) may have
 * reached the server before the reset, and sending it again could repeat a side effect, so it fails
 * as fetch's does (the caller's retry carries the call's idempotency key). Idle pooled sockets are
 * closed after FREE_SOCKET_MS, before a Node server's default 5 s keep-alive ends them. Anything
 * this path does not do (a redirect to follow, a body other than text or bytes, a non-http(s) URL)
 * goes to `fallback` unchanged.
 */

/** A server that goes silent this long (before headers, or between body chunks) fails the request (ms). */
const IDLE_TIMEOUT_MS = 300_000;
/** An idle pooled socket is closed by us after this long (ms); undici's default too, stated. */
const FREE_SOCKET_MS = 4_000;
/** undici's codes (and the OS's) for a socket the server closed under a request. */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const MAX_STALE_RETRIES = 3;
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

const dispatcher = new Agent({ keepAliveTimeout: FREE_SOCKET_MS, headersTimeout: IDLE_TIMEOUT_MS, bodyTimeout: IDLE_TIMEOUT_MS });

type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
type Body = Dispatcher.ResponseData['body'];

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function requestHeaders(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h) out[k!.toLowerCase()] = v!;
  else for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

/** Read-only Headers view over undici's (lower-cased) header map. */
class ResponseHeaders {
  constructor(private readonly raw: Dispatcher.ResponseData['headers']) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  forEach(cb: (value: string, key: string) => void): void {
    for (const [k, v] of this.entries()) cb(v, k);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of Object.keys(this.raw).sort()) yield [k, this.get(k)!];
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** The Response surface fetch callers use, delegating the body to undici's (text/json/arrayBuffer/body). */
class UndiciResponse {
  readonly ok: boolean;
  readonly statusText = '';
  readonly headers: ResponseHeaders;
  readonly redirected = false;
  readonly type = 'basic';
  readonly #body: Body | null;
  #stream: ReadableStream<Uint8Array> | undefined;

  constructor(
    readonly url: string,
    readonly status: number,
    headers: Dispatcher.ResponseData['headers'],
    body: Body,
    nullBody: boolean,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = new ResponseHeaders(headers);
    // A body nobody reads (a 202 only drained, a stream the server ends abruptly) must not turn
    // into an uncaught 'error' that ends the process; readers attach their own listener.
    body.on('error', () => undefined);
    if (nullBody) body.resume(); // drained, so the socket goes back to the pool
    this.#body = nullBody ? null : body;
  }
  /** Made on first access only: a JSON answer read with text()/json() never builds a web stream. */
  get body(): ReadableStream<Uint8Array> | null {
    if (!this.#body) return null;
    this.#stream ??= webStream(this.#body);
    return this.#stream;
  }
  get bodyUsed(): boolean {
    return this.#stream !== undefined || this.#body?.bodyUsed === true;
  }
  async text(): Promise<string> {
    if (!this.#body) return '';
    if (this.#stream) throw new TypeError('Body is unusable: Body has already been read');
    const text = await this.#body.text();
    await closed(this.#body);
    return text;
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    if (!this.#body) return new ArrayBuffer(0);
    if (this.#stream) throw new TypeError('Body is unusable: Body has already been read');
    const bytes = await this.#body.arrayBuffer();
    await closed(this.#body);
    return bytes;
  }
}

/**
 * The body as a web stream (SSE). Not undici's own `body.body`: cancelling that one before the
 * first read neither drains nor destroys the socket's stream, so the request (and its signal
 * listener) would stay open. Here cancel() destroys it and resolves once it has closed.
 */
function webStream(node: Body): ReadableStream<Uint8Array> {
  let settled = false; // closed, errored or cancelled: the controller takes nothing more
  const settle = (f: () => void) => {
    if (!settled) ((settled = true), f());
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Aborted (or lost) before the body was touched: it has already failed.
      if (node.destroyed && !node.readableEnded) return settle(() => controller.error(node.errored ?? new TypeError('terminated')));
      node.on('data', (c: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) node.pause();
      });
      node.once('end', () => settle(() => controller.close()));
      node.once('error', (err) => settle(() => controller.error(err)));
      node.once('close', () => settle(() => controller.error(new TypeError('terminated'))));
    },
    pull() {
      node.resume();
    },
    cancel() {
      settled = true;
      if (node.closed) return;
      return new Promise<void>((resolve) => {
        node.once('close', () => resolve());
        node.destroy();
      });
    },
  });
}

/**
 * undici drops its listener on the request's signal when the body emits 'close', a tick after the
 * last byte was read; a read resolves only after that, so a caller never sees the listener linger.
 */
function closed(body: Body): Promise<void> {
  return body.closed ? Promise.resolve() : new Promise((resolve) => body.once('close', () => resolve()));
}

/** A compressed answer (rare: our servers do not compress) is decoded into a real Response. */
function decodedResponse(url: string, status: number, headers: Dispatcher.ResponseData['headers'], body: Body, encoding: string): Response | null {
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : null;
  if (!decoder) return null;
  body.on('error', (err) => decoder.destroy(err));
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
  const res = new Response(Readable.toWeb(body.pipe(decoder)) as ReadableStream<Uint8Array>, { status, headers: h });
  Object.defineProperty(res, 'url', { value: url });
  return res;
}

/** Builds the fetch; `fallback` serves what this path does not (see above). */
export function createHttpFetch(fallback: FetchLike): FetchLike {
  return async function httpFetch(input, init) {
    const url = typeof input === 'string' ? new URL(input) : input;
    const body = init?.body;
    const method = (init?.method ?? 'GET').toUpperCase();
    const supported =
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      (init?.redirect === 'manual' || init?.redirect === 'error') &&
      (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array);
    if (!supported) return fallback(input, init);

    const signal = init?.signal ?? undefined;
    if (signal?.aborted) throw abortReason(signal);
    const headers = requestHeaders(init?.headers);
    if (typeof body === 'string' && !headers['content-type']) headers['content-type'] = 'text/plain;charset=UTF-8';
    headers['accept-encoding'] ??= 'gzip, deflate, br';

    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        // maxRedirections 0 (the default): a 3xx is returned as it is, as `redirect: 'manual'` asks.
        res = await dispatcher.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: method as Dispatcher.HttpMethod,
          headers,
          body: (body as string | Uint8Array | null | undefined) ?? null,
          signal,
        });
      } catch (err) {
        if (signal?.aborted) throw abortReason(signal);
        const code = (err as { code?: string }).code ?? '';
        if (attempt < MAX_STALE_RETRIES && IDEMPOTENT_METHODS.has(method) && STALE_SOCKET_CODES.has(code)) continue;
        throw new TypeError('fetch failed', { cause: err });
      }
      const { statusCode: status, headers: h, body: resBody } = res;
      if (init?.redirect === 'error' && status >= 300 && status < 400 && h.location) {
        resBody.resume();
        throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
      }
      const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
      const encoding = String(h['content-encoding'] ?? '')
        .trim()
        .toLowerCase();
      const decoded = !nullBody && encoding !== '' && h['content-length'] !== '0' ? decodedResponse(url.href, status, h, resBody, encoding) : null;
      return decoded ?? (new UndiciResponse(url.href, status, h, resBody, nullBody) as unknown as Response);
    }
  };
}
