import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WebhookVerificationError } from './webhook-verification-error';
import type { WebhookEvent } from './webhook-event';

export type WebhookHeaders = Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** Accepted clock difference, both directions, in seconds. Default 300 (5 min), as in the spec's reference library. */
  toleranceSeconds?: number;
  /** Current time (Date or ms since epoch) for tests; defaults to Date.now(). */
  now?: Date | number;
}

const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = 'whsec_';

/**
 * Verifies a Standard Webhooks request and returns the parsed event. Pass the raw request body
 * (bytes as received; re-serialised JSON will not verify) and the request headers (any case).
 * A signature header may hold several space-separated signatures (during a secret rotation we
 * sign with both secrets); any `v1,` one that matches is enough. Dedupe on `event.id`: a
 * delivery can arrive more than once.
 */
export function verifyWebhook<TData = unknown>(
  secret: string,
  headers: WebhookHeaders,
  body: string | Buffer,
  options: VerifyWebhookOptions = {},
): WebhookEvent<TData> {
  const key = decodeSecret(secret);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature headers are required');
  }

  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('invalid_signature', 'webhook-timestamp is not an integer of unix seconds');
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowMs = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
  const nowSeconds = Math.floor(nowMs / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) {
    // Bounds replay of a captured request to the tolerance window.
    throw new WebhookVerificationError('timestamp_out_of_tolerance', 'webhook-timestamp is too far from the current time');
  }

  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  // The MAC is the Standard Webhooks reference library's. Its verify() is not used as a whole
  // because it checks the timestamp against Date.now() with a fixed 5 min window, and we take
  // `now` and `toleranceSeconds`; so the window is checked above and the signature here.
  const expected = Buffer.from(new Webhook(key, { format: 'raw' }).sign(id, new Date(Number(timestamp) * 1000), raw), 'utf8');
  let matched = false;
  for (const entry of signatures.split(' ')) {
    // Whole `v1,<sig>` entries are compared, so other schemes (v1a) never match.
    const candidate = Buffer.from(entry, 'utf8');
    // Equal length first (timingSafeEqual requires it); the length of a base64 HMAC is public.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('invalid_signature', 'no webhook signature matched');

  try {
    return JSON.parse(raw.toString('utf8')) as WebhookEvent<TData>;
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'webhook body is not valid JSON');
  }
}

function decodeSecret(secret: string): Buffer {
  const text = typeof secret === 'string' && secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new WebhookVerificationError('invalid_secret', 'webhook secret must be "whsec_" followed by base64');
  }
  const key = Buffer.from(text, 'base64');
  if (key.length === 0) throw new WebhookVerificationError('invalid_secret', 'webhook secret is empty');
  return key;
}

/** Case-insensitive header lookup; a repeated header counts as its first value. */
function header(headers: WebhookHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined && first !== '') return first;
  }
  return undefined;
}
