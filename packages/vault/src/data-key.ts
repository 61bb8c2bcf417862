import { randomBytes } from 'node:crypto';
import { IV_BYTES, KEY_BYTES, TAG_BYTES, assertKey, decodeBase64, open, seal } from './aead';
import type { MasterKeyring } from './master-keys';
import { VaultError } from './vault-error';

/** A tenant's data key encrypted under a master key. Store it next to the tenant row. */
export interface WrappedKey {
  /** Id of the master key that wrapped it (see MasterKeyring). */
  kid: string;
  /** base64 of iv(12) | tag(16) | ciphertext(32), AES-256-GCM, AAD = "dek:" + tenantId. */
  wrapped: string;
}

/** A fresh 256-bit data key from the CSPRNG. The caller owns it and should `.fill(0)` it when done. */
export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function dekAad(tenantId: string): Buffer {
  assertTenantId(tenantId);
  return Buffer.from(`dek:${tenantId}`, 'utf8');
}

function assertTenantId(tenantId: string): void {
  if (typeof tenantId !== 'string' || tenantId === '') {
    throw new VaultError('invalid_input', 'tenantId must be a non-empty string');
  }
}

function masterKey(ring: MasterKeyring, kid: string): Buffer {
  const key = ring.keys.get(kid);
  if (key === undefined) {
    throw new VaultError('unknown_kid', `master key "${kid}" is not in VAULT_MASTER_KEY; add it back (after the active key) to unwrap`);
  }
  return key;
}

/** Wraps `dek` with the ring's active key, bound to `tenantId` so it cannot be used for another tenant. */
export function wrapDataKey(ring: MasterKeyring, tenantId: string, dek: Buffer): WrappedKey {
  assertKey(dek, 'data key');
  const aad = dekAad(tenantId);
  const { iv, tag, ct } = seal(masterKey(ring, ring.activeKid), dek, aad);
  return { kid: ring.activeKid, wrapped: Buffer.concat([iv, tag, ct]).toString('base64') };
}

/**
 * Unwraps with whichever master key `wrapped.kid` names. Fails with `decrypt_failed` when the
 * wrapped key was tampered with or belongs to another tenant, `unknown_kid` when the ring lacks the key.
 */
export function unwrapDataKey(ring: MasterKeyring, tenantId: string, wrapped: WrappedKey): Buffer {
  const aad = dekAad(tenantId);
  if (wrapped === null || typeof wrapped !== 'object' || typeof wrapped.kid !== 'string') {
    throw new VaultError('decrypt_failed', 'data key could not be decrypted');
  }
  const key = masterKey(ring, wrapped.kid);
  const raw = decodeBase64(wrapped.wrapped);
  if (raw === null || raw.length !== IV_BYTES + TAG_BYTES + KEY_BYTES) {
    throw new VaultError('decrypt_failed', 'data key could not be decrypted');
  }
  const dek = open(
    key,
    { iv: raw.subarray(0, IV_BYTES), tag: raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES), ct: raw.subarray(IV_BYTES + TAG_BYTES) },
    aad,
    'data key',
  );
  raw.fill(0);
  return dek;
}

/**
 * Re-encrypts a data key under the active master key without touching the secrets it protects
 * (they stay encrypted under the same data key). Always produces a fresh wrapping (new IV),
 * even when `wrapped.kid` already is the active kid; the data key itself never changes.
 */
export function rewrapDataKey(ring: MasterKeyring, tenantId: string, wrapped: WrappedKey): WrappedKey {
  const dek = unwrapDataKey(ring, tenantId, wrapped);
  try {
    return wrapDataKey(ring, tenantId, dek);
  } finally {
    dek.fill(0);
  }
}
