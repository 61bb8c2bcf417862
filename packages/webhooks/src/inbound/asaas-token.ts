import { constantTimeEqual } from './constant-time';
import type { SignatureCheck } from './signature-result';

/**
 * Asaas signs nothing: each webhook carries the `authToken` configured for it, verbatim, in the
 * `asaas-access-token` header. The check is a constant-time equality with the tenant's secret.
 */
export function verifyAsaasToken(input: { header: string | undefined; secret: string }): SignatureCheck {
  if (!input.header) return { ok: false, reason: 'missing_signature' };
  return constantTimeEqual(input.header, input.secret) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
