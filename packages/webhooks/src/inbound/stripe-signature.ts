import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time';
import type { SignatureCheck } from './signature-result';

/** Stripe's default tolerance between the signed timestamp and our clock, either way (5 min, in s). */
export const STRIPE_TOLERANCE_S = 300;

export interface StripeSignatureInput {
  /** The `Stripe-Signature` header: `t=<unix s>,v1=<hex>[,v1=<hex>…][,v0=…]`. */
  header: string | undefined;
  /** The exact bytes received: re-serialised JSON would not match the signature. */
  rawBody: Buffer;
  /** The endpoint's signing secret (`whsec_...`), used as-is as the HMAC key. */
  secret: string;
  /** Now, in ms since the epoch. */
  nowMs: number;
  toleranceS?: number;
}

/**
 * Stripe's scheme: `v1` = hex HMAC-SHA256(secret, "<t>.<raw body>"). Several `v1` entries appear
 * while a secret rolls; any match passes. A timestamp outside the tolerance is refused even with a
 * good signature (replay protection). `v0` (test-mode legacy) is ignored, as Stripe's libraries do.
 */
export function verifyStripeSignature(input: StripeSignatureInput): SignatureCheck {
  if (!input.header) return { ok: false, reason: 'missing_signature' };
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of input.header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') t = value;
    else if (key === 'v1') v1.push(value);
  }
  if (!t || !/^\d{1,12}$/.test(t) || v1.length === 0) return { ok: false, reason: 'malformed_signature' };
  const expected = createHmac('sha256', input.secret).update(`${t}.`, 'utf8').update(input.rawBody).digest('hex');
  // Check every candidate (no early exit) so timing does not depend on which one matched.
  let match = false;
  for (const candidate of v1) if (constantTimeEqual(candidate.toLowerCase(), expected)) match = true;
  if (!match) return { ok: false, reason: 'bad_signature' };
  const tolerance = input.toleranceS ?? STRIPE_TOLERANCE_S;
  if (Math.abs(input.nowMs / 1000 - Number(t)) > tolerance) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true };
}
