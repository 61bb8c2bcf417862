import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time';
import type { SignatureCheck } from './signature-result';

/**
 * Melhor Envio: `X-ME-Signature` = base64 HMAC-SHA256(app secret, raw body). No timestamp is
 * signed, so replays are caught by event dedupe, not here.
 */
export function verifyMelhorEnvioSignature(input: { header: string | undefined; rawBody: Buffer; secret: string }): SignatureCheck {
  if (!input.header) return { ok: false, reason: 'missing_signature' };
  const expected = createHmac('sha256', input.secret).update(input.rawBody).digest('base64');
  return constantTimeEqual(input.header.trim(), expected) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
