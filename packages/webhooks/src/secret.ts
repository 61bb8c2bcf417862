import { randomBytes } from 'node:crypto';
import { WebhookError } from './webhook-error';

const PREFIX = 'whsec_';
/** 24 bytes = 192 bits, the Standard Webhooks minimum for a symmetric secret. */
const SECRET_BYTES = 24;

/** A new tenant signing secret, `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The HMAC key bytes of a `whsec_` secret (prefix optional, as in the reference library). */
export function decodeWebhookSecret(secret: string): Buffer {
  if (typeof secret !== 'string') throw new WebhookError('invalid_secret', 'webhook secret must be a string');
  const body = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new WebhookError('invalid_secret', 'webhook secret is not "whsec_" followed by base64');
  }
  const key = Buffer.from(body, 'base64');
  if (key.length === 0) throw new WebhookError('invalid_secret', 'webhook secret is empty');
  return key;
}
