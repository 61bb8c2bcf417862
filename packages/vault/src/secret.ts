import { assertKey, decodeBase64, open, seal } from './aead';
import { VaultError } from './vault-error';

/** One encrypted credential record (all fields base64). */
export interface SealedSecret {
  v: 1;
  iv: string;
  tag: string;
  ct: string;
}

/** Where a secret lives. Bound as AAD, so a ciphertext copied to another tenant/server/environment row fails to decrypt. */
export interface SecretAad {
  tenantId: string;
  server: string;
  environment: string;
}

function secretAad(aad: SecretAad): Buffer {
  for (const field of ['tenantId', 'server', 'environment'] as const) {
    if (typeof aad?.[field] !== 'string' || aad[field] === '') {
      throw new VaultError('invalid_input', `aad.${field} must be a non-empty string`);
    }
  }
  // A JSON array is an unambiguous encoding: ("a|b","c") and ("a","b|c") cannot collide.
  return Buffer.from(JSON.stringify(['secret:v1', aad.tenantId, aad.server, aad.environment]), 'utf8');
}

/** Encrypts a credential record (field name → value) under the tenant's data key with a fresh 96-bit IV. */
export function encryptSecret(dek: Buffer, plaintext: Record<string, string>, aad: SecretAad): SealedSecret {
  assertKey(dek, 'data key');
  if (plaintext === null || typeof plaintext !== 'object' || Array.isArray(plaintext)) {
    throw new VaultError('invalid_input', 'plaintext must be an object of string values');
  }
  for (const [name, value] of Object.entries(plaintext)) {
    if (typeof value !== 'string') {
      // Names the field, never the value.
      throw new VaultError('invalid_input', `plaintext field "${name}" must be a string`);
    }
  }
  const bytes = Buffer.from(JSON.stringify(plaintext), 'utf8');
  try {
    const { iv, tag, ct } = seal(dek, bytes, secretAad(aad));
    return { v: 1, iv: iv.toString('base64'), tag: tag.toString('base64'), ct: ct.toString('base64') };
  } finally {
    bytes.fill(0);
  }
}

/** Decrypts a credential record; any tampering, wrong key or wrong AAD throws `decrypt_failed`. */
export function decryptSecret(dek: Buffer, sealed: SealedSecret, aad: SecretAad): Record<string, string> {
  assertKey(dek, 'data key');
  const aadBytes = secretAad(aad);
  const fail = (): VaultError => new VaultError('decrypt_failed', 'secret could not be decrypted');
  if (sealed === null || typeof sealed !== 'object' || sealed.v !== 1) throw fail();
  const iv = decodeBase64(sealed.iv);
  const tag = decodeBase64(sealed.tag);
  const ct = decodeBase64(sealed.ct);
  if (iv === null || tag === null || ct === null) throw fail();
  const bytes = open(dek, { iv, tag, ct }, aadBytes, 'secret');
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail();
    const entries = Object.entries(parsed);
    if (entries.some(([, value]) => typeof value !== 'string')) throw fail();
    // fromEntries defines own properties, so even a field named "__proto__" round-trips.
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    // Authenticated but not our format: still report only the stable code.
    throw fail();
  } finally {
    bytes.fill(0);
  }
}
