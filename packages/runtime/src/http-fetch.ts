import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

/**
 * The fetch the MCP SDK's Streamable HTTP transport makes its requests with: the subset of fetch
 * that transport uses, on node:http's client with keep-alive agents instead of the global fetch.
 *
 * Why: in the pipeline benchmark a worker spent ~15 % of its CPU in fetch's machinery around each
 * tool call (undici's fetch algorithm, WHATWG streams for a body of a few hundred bytes, one
 * AbortSignal per request, Response/Headers objects). Here a JSON answer is read from the socket
 * into one string, and a web stream is made only for a body that is read as a stream (SSE).
 *
 * Semantics kept from fetch (and from signalIsolatingFetch): the request's signal aborts it and its
 * body (rejecting with the signal's reason) and its listener on that signal is removed as soon as
 * the body has been read, cancelled or failed, so one connection-wide signal shared by thousands
 * of requests holds no listeners; network errors reject with TypeError('fetch failed', { cause })
 * as fetch does, so callers reading `cause.code` still work; compressed answers are decoded.
 * A request that failed on a pooled keep-alive socket the server had closed is retried (at most 3
 * times) only when its method is idempotent: a POST (an MCP tool call) may have reached the server
 * before the reset, and sending it again could repeat a side effect, so it fails as fetch's does
 * (the caller's retry carries the call's idempotency key). To keep that race rare, an idle pooled
 * socket is closed after FREE_SOCKET_MS, before a Node server's default 5 s keep-alive ends it. Anything the fast path does not do (a redirect to follow, a body
 * other than text or bytes, a non-http(s) URL) goes to `fallback` unchanged.
 */

/** Like undici's headersTimeout/bodyTimeout: a server that goes silent this long fails the request (ms). */
const IDLE_TIMEOUT_MS = 300_000;
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);
const MAX_STALE_RETRIES = 3;
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** An idle pooled socket is closed by us after this long (undici's default keep-alive is 4 s too). */
const FREE_SOCKET_MS = 4_000;

// LIFO: the hottest sockets are reused and the rest idle out.
const httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: FREE_SOCKET_MS });
const httpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo', timeout: FREE_SOCKET_MS });

type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

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

/** Read-only Headers view over a node response's (already lower-cased) header map. */
class ResponseHeaders {
  constructor(private readonly raw: IncomingMessage['headers']) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  forEach(cb: (value: string, key: string) => void): void {
    for (const k of Object.keys(this.raw)) cb(this.get(k)!, k);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of Object.keys(this.raw).sort()) yield [k, this.get(k)!];
  }
  keys(): IterableIterator<string> {
    return Object.keys(this.raw).sort()[Symbol.iterator]();
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** The Response surface fetch callers use, over a node response stream. */
class NodeResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: ResponseHeaders;
  readonly redirected = false;
  readonly type = 'basic';
  #used = false;
  #body: ReadableStream<Uint8Array> | null | undefined;

  constructor(
    readonly url: string,
    res: IncomingMessage,
    private readonly stream: Readable,
    private readonly done: () => void,
    private readonly nullBody: boolean,
    private readonly emptyBody: boolean,
  ) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? '';
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new ResponseHeaders(res.headers);
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  /** Made on first access only: a JSON answer read with text()/json() never builds a web stream. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body !== undefined) return this.#body;
    if (this.nullBody) {
      this.#body = null;
      this.done();
      this.stream.resume();
      return null;
    }
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    const node = this.stream;
    if (this.emptyBody) {
      // Drained rather than destroyed by a cancel(), so its keep-alive socket goes back to the pool.
      node.once('end', this.done);
      node.once('close', this.done);
      node.resume();
      this.#body = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      return this.#body;
    }
    const done = this.done;
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      done();
      f();
    };
    // Our own stream (not Readable.toWeb) so that cancel() releases the signal before it resolves.
    this.#body = new ReadableStream<Uint8Array>({
      start(controller) {
        // Aborted (or lost) before the body was touched: 'close' has already fired.
        if (node.destroyed && !node.readableEnded) return settle(() => controller.error(node.errored ?? new TypeError('terminated')));
        node.on('data', (c: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) node.pause();
        });
        node.once('end', () => settle(() => controller.close()));
        node.once('error', (err) => settle(() => controller.error(err)));
        node.once('close', () => {
          if (!node.readableEnded) settle(() => controller.error(node.errored ?? new TypeError('terminated')));
        });
      },
      pull() {
        node.resume();
      },
      cancel() {
        settle(() => node.destroy());
      },
    });
    return this.#body;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#readAll();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return (await this.#readAll()).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  #readAll(): Promise<Buffer> {
    if (this.#used || this.#body) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.#used = true;
    const s = this.stream;
    // Aborted (or lost) between the answer's headers and this read: 'close' has already fired.
    if (s.destroyed && !s.readableEnded) {
      this.done();
      return Promise.reject(s.errored ?? new TypeError('terminated'));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.once('end', () => {
        this.done();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      });
      s.once('error', (err) => {
        this.done();
        reject(err);
      });
      s.once('close', () => {
        // Closed before 'end' (aborted, socket lost): fail rather than hang.
        if (!s.readableEnded) {
          this.done();
          reject(s.errored ?? new TypeError('terminated'));
        }
      });
    });
  }
}

function decoded(res: IncomingMessage): Readable {
  const enc = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = enc === 'gzip' || enc === 'x-gzip' ? zlib.createGunzip() : enc === 'deflate' ? zlib.createInflate() : enc === 'br' ? zlib.createBrotliDecompress() : null;
  if (!decoder) return res;
  res.on('error', (err) => decoder.destroy(err));
  // A body nobody reads (an empty 202 that is only drained, an abort before the body is touched)
  // must not turn a corrupt or cut-off stream into an uncaught error that ends the process; a
  // reader attaches its own listener and gets the error.
  decoder.on('error', () => undefined);
  return res.pipe(decoder);
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Builds the fetch; `fallback` serves what the fast path does not (see above). */
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
    const payload = typeof body === 'string' ? Buffer.from(body) : (body as Uint8Array | null | undefined) ?? undefined;
    if (payload) {
      headers['content-length'] = String(payload.byteLength);
      if (typeof body === 'string' && !headers['content-type']) headers['content-type'] = 'text/plain;charset=UTF-8';
    }
    headers['accept-encoding'] ??= 'gzip, deflate, br';

    for (let attempt = 0; ; attempt++) {
      try {
        return await send(url, method, headers, payload, signal, init?.redirect === 'error');
      } catch (err) {
        const e = err as { code?: string; reusedSocket?: boolean };
        if (attempt < MAX_STALE_RETRIES && IDEMPOTENT_METHODS.has(method) && e.reusedSocket && STALE_SOCKET_CODES.has(e.code ?? '') && !signal?.aborted) continue;
        if (signal?.aborted) throw abortReason(signal);
        throw new TypeError('fetch failed', { cause: err });
      }
    }
  };
}

function send(url: URL, method: string, headers: Record<string, string>, payload: Uint8Array | undefined, signal: AbortSignal | undefined, redirectIsError: boolean): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method, headers, agent: url.protocol === 'https:' ? httpsAgent : httpAgent });
    let res: IncomingMessage | undefined;
    let listening = false;
    const onAbort = () => {
      const reason = abortReason(signal!);
      req.destroy(reason as Error);
      res?.destroy(reason as Error);
    };
    const unlisten = () => {
      if (listening) signal!.removeEventListener('abort', onAbort);
      listening = false;
    };
    if (signal) {
      signal.addEventListener('abort', onAbort, { once: true });
      listening = true;
    }
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${IDLE_TIMEOUT_MS} ms`)));
    req.once('error', (err) => {
      unlisten();
      // Node marks a failure on a pooled socket; the caller retries only those.
      (err as { reusedSocket?: boolean }).reusedSocket = req.reusedSocket && !res;
      if (res) res.destroy(err);
      else reject(err);
    });
    req.once('response', (r) => {
      res = r;
      const status = r.statusCode ?? 0;
      if (redirectIsError && status >= 300 && status < 400 && r.headers.location) {
        unlisten();
        r.resume();
        reject(new Error('unexpected redirect'));
        return;
      }
      const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
      const stream = nullBody ? r : decoded(r);
      const response = new NodeResponse(url.href, r, stream, unlisten, nullBody, r.headers['content-length'] === '0');
      if (nullBody) {
        r.resume();
        r.once('end', unlisten);
        r.once('close', unlisten);
      }
      resolve(response as unknown as Response);
    });
    req.end(payload);
  });
}
