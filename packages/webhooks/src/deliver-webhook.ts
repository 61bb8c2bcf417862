import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { classifyAddress } from './classify-address';
import { isLocalhostName, normalizeHost } from './check-callback-url';
import type { Resolve } from './check-callback-url';

/** API.md: a receiver gets 10 s to answer. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
/** The response body is only drained (never stored), and at most this much of it (64 KiB). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export type DeliveryErrorCode = 'timeout' | 'connection_error' | 'address_not_allowed' | 'redirect_not_followed' | 'invalid_url';

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

/**
 * The SSRF gate at connect time is request-filtering-agent: its createConnection refuses an
 * IP-literal host before connecting, and wraps the socket's lookup so the socket only connects to
 * addresses it checked in that same lookup (DNS rebinding between submission and delivery, and
 * between retries). With every answer requested (autoSelectFamily below), any non-unicast answer
 * refuses the whole host, as checkCallbackUrl does. keepAlive is off (the http.Agent default): the
 * socket is closed after each attempt, so no pooled socket to a previously checked address is reused.
 */
const guardedAgents = { 'http:': new RequestFilteringHttpAgent(), 'https:': new RequestFilteringHttpsAgent() };
/** WEBHOOK_ALLOW_PRIVATE_NETWORKS: same agents, nothing refused (local/demo only). */
const openAgents = {
  'http:': new RequestFilteringHttpAgent({ allowPrivateIPAddress: true, allowMetaIPAddress: true }),
  'https:': new RequestFilteringHttpsAgent({ allowPrivateIPAddress: true, allowMetaIPAddress: true }),
};

/** How request-filtering-agent 3.x words a refusal (it sets no error code); pinned by test/deliver.test.ts. */
const REFUSED = /^DNS lookup .* is not allowed\b/;

function isRefusal(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isRefusal);
  return err instanceof Error && REFUSED.test(err.message);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** `resolve` (tests, custom DNS) in the shape of dns.lookup, for the agent to check and connect with. */
function resolverLookup(resolve: Resolve) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const fail = (cause?: unknown) => callback(Object.assign(new Error(`cannot resolve ${hostname}`), { code: 'ENOTFOUND', cause }), []);
    resolve(hostname).then((list) => {
      const all = list.filter((a) => isIP(a) !== 0).map((address) => ({ address, family: isIP(address) }));
      const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
      const first = wanted[0];
      if (!first) return fail();
      if (options.all) callback(null, wanted);
      else callback(null, first.address, first.family);
    }, fail);
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
  // localhost names are loopback by RFC 6761 whatever a resolver says (IP literals: the agent).
  if (!input.allowPrivate && isLocalhostName(normalizeHost(url.hostname))) {
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
        agent: (input.allowPrivate ? openAgents : guardedAgents)[url.protocol as 'http:' | 'https:'],
        // Passed through to the agent's createConnection, which checks what this lookup answers.
        ...(input.resolve ? { lookup: resolverLookup(input.resolve) } : {}),
        // Ask the lookup for every address (not just the first), so all of them are checked
        // (net option passed through; Node 20's default, stated so no flag can turn it off).
        ...({ autoSelectFamily: true } as http.RequestOptions),
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

    // Belt and braces, and our stricter policy: the agent refuses what ipaddr.js does not call
    // unicast; classifyAddress also refuses IPv6 outside 2000::/3 (unallocated space).
    req.on('socket', (socket: Socket) => {
      socket.once('connect', () => {
        const peer = socket.remoteAddress;
        if (!input.allowPrivate && (peer === undefined || safeClass(peer) !== 'public')) {
          settle({ ok: false, status: null, error: 'address_not_allowed' });
        }
      });
    });

    req.on('error', (err: Error) => {
      settle({ ok: false, status: null, error: isRefusal(err) ? 'address_not_allowed' : 'connection_error' });
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
