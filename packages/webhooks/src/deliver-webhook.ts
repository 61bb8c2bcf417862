import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { classifyAddress } from './classify-address';
import { isLocalhostName, normalizeHost } from './check-callback-url';
import type { Resolve } from './check-callback-url';

/** API.md: a receiver gets 10 s to answer. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
/** The response body is only drained (never stored), and at most this much of it (64 KiB). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export type DeliveryErrorCode =
  | 'timeout'
  | 'connection_error'
  | 'address_not_allowed'
  | 'redirect_not_followed'
  | 'invalid_url';

export interface DeliverWebhookInput {
  url: string;
  /** Usually the output of signPayload(); content-type defaults to application/json. */
  headers: Record<string, string>;
  body: string;
  /** Whole attempt budget (connect + response headers), ms. Default 10 000. */
  timeoutMs?: number;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: connect to non-public addresses too. */
  allowPrivate: boolean;
  /** Host name → addresses for the connection; defaults to the system resolver (dns.lookup). */
  resolve?: Resolve;
}

export interface DeliveryResult {
  /** true iff the receiver answered 2xx. */
  ok: boolean;
  /** HTTP status when the receiver answered at all. */
  status: number | null;
  /** Stable failure code; null when a status was received and needs no further explanation. */
  error: DeliveryErrorCode | null;
  durationMs: number;
}

/** Node error code our lookup uses to refuse an address; mapped to `address_not_allowed`. */
const REFUSED = 'ERR_WEBHOOK_ADDRESS_NOT_ALLOWED';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function refusal(): NodeJS.ErrnoException {
  return Object.assign(new Error('webhook target address is not public'), { code: REFUSED });
}

/**
 * The SSRF gate at connect time: the socket connects only to addresses this lookup returns, so
 * checking them here covers DNS rebinding between submission and delivery (and between retries).
 * Any non-public answer refuses the whole host, matching checkCallbackUrl.
 */
function guardedLookup(allowPrivate: boolean, resolve: Resolve | undefined) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const answer = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => {
      if (err) return callback(err, []);
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      if (wanted.length === 0) {
        return callback(Object.assign(new Error(`no addresses for ${hostname}`), { code: 'ENOTFOUND' }), []);
      }
      if (!allowPrivate && wanted.some((a) => safeClass(a.address) !== 'public')) return callback(refusal(), []);
      if (options.all) return callback(null, wanted);
      const first = wanted[0] as LookupAddress;
      callback(null, first.address, first.family);
    };
    if (resolve) {
      resolve(hostname).then(
        (list) => answer(null, list.filter((a) => isIP(a) !== 0).map((address) => ({ address, family: isIP(address) }))),
        (err: unknown) => answer(Object.assign(new Error(`cannot resolve ${hostname}`), { code: 'ENOTFOUND', cause: err }), []),
      );
    } else {
      dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => answer(err, addresses ?? []));
    }
  };
}

function safeClass(address: string): string {
  try {
    return classifyAddress(address);
  } catch {
    return 'invalid';
  }
}

function statusResult(status: number): Omit<DeliveryResult, 'durationMs'> {
  if (status >= 200 && status < 300) return { ok: true, status, error: null };
  // Redirects are never followed: a 3xx could point anywhere, including inside our network.
  if (status >= 300 && status < 400) return { ok: false, status, error: 'redirect_not_followed' };
  return { ok: false, status, error: null };
}

/**
 * One delivery attempt: POST `body` to `url` with `headers`. Never throws; the outcome is in the
 * result. No redirects, no connection reuse (a fresh socket per attempt, so every attempt is
 * re-resolved and re-checked), response body drained up to 64 KiB and discarded.
 */
export function deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
  const started = performance.now();
  const done = (r: Omit<DeliveryResult, 'durationMs'>): DeliveryResult => ({
    ...r,
    durationMs: Math.round(performance.now() - started),
  });

  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return Promise.resolve(done({ ok: false, status: null, error: 'invalid_url' }));
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
    return Promise.resolve(done({ ok: false, status: null, error: 'invalid_url' }));
  }
  const host = normalizeHost(url.hostname);
  // Node skips `lookup` for IP literals, so they are checked here; localhost names by RFC 6761.
  if (!input.allowPrivate && ((isIP(host) !== 0 && safeClass(host) !== 'public') || isLocalhostName(host))) {
    return Promise.resolve(done({ ok: false, status: null, error: 'address_not_allowed' }));
  }

  const timeoutMs = input.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const body = Buffer.from(input.body, 'utf8');
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'user-agent': 'agents-webhooks/1',
    ...input.headers,
    'content-length': body.length,
  };

  return new Promise<DeliveryResult>((resolvePromise) => {
    let settled = false;
    let status: number | null = null;
    const settle = (r: Omit<DeliveryResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolvePromise(done(r));
    };

    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      url,
      {
        method: 'POST',
        headers,
        agent: false, // fresh connection each attempt: no pooled socket to a previously checked address
        lookup: guardedLookup(input.allowPrivate, input.resolve),
      },
      (res) => {
        status = res.statusCode ?? null;
        const result = status === null ? { ok: false, status: null, error: 'connection_error' as const } : statusResult(status);
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= MAX_RESPONSE_BYTES) settle(result);
        });
        res.on('end', () => settle(result));
        // The status already arrived; a broken body does not change the outcome.
        res.on('error', () => settle(result));
        res.on('close', () => settle(result));
      },
    );

    // Belt and braces: whatever path produced the socket, refuse if the peer is not public.
    req.on('socket', (socket: Socket) => {
      socket.once('connect', () => {
        const peer = socket.remoteAddress;
        if (!input.allowPrivate && (peer === undefined || safeClass(peer) !== 'public')) {
          settle({ ok: false, status: null, error: 'address_not_allowed' });
        }
      });
    });

    req.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err.code === REFUSED || (err instanceof AggregateError && err.errors.some((e: NodeJS.ErrnoException) => e?.code === REFUSED));
      settle({ ok: false, status: null, error: refused ? 'address_not_allowed' : 'connection_error' });
    });

    const timer = setTimeout(() => {
      // Headers in time but a body that never ends: the receiver did answer, keep its status.
      settle(status !== null ? statusResult(status) : { ok: false, status: null, error: 'timeout' });
    }, timeoutMs);

    req.end(body);
  });
}

/** Whether a failed attempt should be retried: not after success, not on 410 Gone, not for an unusable URL. */
export function isRetryable(result: Pick<DeliveryResult, 'ok' | 'status' | 'error'>): boolean {
  if (result.ok) return false;
  if (result.status === 410) return false;
  if (result.error === 'invalid_url') return false;
  return true;
}
