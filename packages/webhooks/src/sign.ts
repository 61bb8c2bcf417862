import { Webhook } from 'standardwebhooks';
import { decodeWebhookSecret } from './secret';
import { WebhookError } from './webhook-error';

export interface SignPayloadInput {
  /** Event id (`evt_...`); stable across retries, the receiver's idempotency key. */
  id: string;
  /** Unix seconds of this attempt (not of the event). */
  timestamp: number;
  /** The exact bytes that will be sent; the signature covers them verbatim. */
  body: string;
  /**
   * Secrets to sign with, newest first. During the 24 h after a rotation pass both the new and
   * the old secret so receivers on either verify.
   */
  secrets: string[];
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Standard Webhooks v1 signing: base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`, one
 * `v1,<sig>` per secret, space separated. The MAC is the reference library's (`standardwebhooks`),
 * the same code our tenants' receivers verify with; we only validate input and join signatures.
 */
export function signPayload(input: SignPayloadInput): SignedHeaders {
  const { id, timestamp, body, secrets } = input;
  // The spec forbids "." in id/timestamp: it would make the signed content ambiguous.
  if (typeof id !== 'string' || id === '' || id.includes('.') || /\s/.test(id)) {
    throw new WebhookError('invalid_input', 'webhook id must be a non-empty string without "." or whitespace');
  }
  // Upper bound: the latest instant a Date holds (8.64e15 ms), which the library signs through.
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > 8_640_000_000_000) {
    throw new WebhookError('invalid_input', 'webhook timestamp must be a non-negative integer of unix seconds');
  }
  if (typeof body !== 'string') throw new WebhookError('invalid_input', 'webhook body must be a string');
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new WebhookError('invalid_secret', 'at least one webhook secret is required to sign');
  }
  const ts = String(timestamp);
  const at = new Date(timestamp * 1000);
  const signatures = secrets.map((secret) => {
    // Our decoder (lenient base64, our error codes) hands the library the raw key bytes, so the
    // key, and thus every signature, is exactly what it was before the library signed.
    const key = decodeWebhookSecret(secret);
    try {
      return new Webhook(key, { format: 'raw' }).sign(id, at, body);
    } finally {
      key.fill(0);
    }
  });
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signatures.join(' ') };
}
