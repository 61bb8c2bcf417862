import { createHmac } from 'node:crypto';
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
 * `v1,<sig>` per secret, space separated.
 */
export function signPayload(input: SignPayloadInput): SignedHeaders {
  const { id, timestamp, body, secrets } = input;
  // The spec forbids "." in id/timestamp: it would make the signed content ambiguous.
  if (typeof id !== 'string' || id === '' || id.includes('.') || /\s/.test(id)) {
    throw new WebhookError('invalid_input', 'webhook id must be a non-empty string without "." or whitespace');
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new WebhookError('invalid_input', 'webhook timestamp must be a non-negative integer of unix seconds');
  }
  if (typeof body !== 'string') throw new WebhookError('invalid_input', 'webhook body must be a string');
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new WebhookError('invalid_secret', 'at least one webhook secret is required to sign');
  }
  const ts = String(timestamp);
  const signatures = secrets.map((secret) => {
    const key = decodeWebhookSecret(secret);
    try {
      const mac = createHmac('sha256', key).update(`${id}.${ts}.`, 'utf8').update(body, 'utf8').digest('base64');
      return `v1,${mac}`;
    } finally {
      key.fill(0);
    }
  });
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signatures.join(' ') };
}
