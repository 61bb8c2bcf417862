import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VaultError } from './vault-error';

/** AES-256-GCM parameters: 256-bit key, 96-bit IV (the size GCM is specified for), 128-bit tag. */
export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
}

export function assertKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new VaultError('invalid_key', `${what} must be a ${KEY_BYTES}-byte Buffer`);
  }
}

/**
 * Encrypts with a fresh random IV every call: with random IVs NIST SP 800-38D allows 2^32
 * encryptions per key, which a per-tenant data key never approaches.
 */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ct };
}

/**
 * Decrypts and authenticates. Every failure (bad tag, wrong key, wrong AAD, malformed sizes)
 * becomes the same `decrypt_failed` error so the message reveals nothing about which part
 * was wrong; `what` names the object (e.g. "secret"), never its content.
 */
export function open(key: Buffer, sealed: Sealed, aad: Buffer, what: string): Buffer {
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new VaultError('decrypt_failed', `${what} could not be decrypted`);
  }
  try {
    // authTagLength pins the tag size so a truncated tag is refused rather than checked short.
    const decipher = createDecipheriv(ALGORITHM, key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ct), decipher.final()]);
  } catch {
    throw new VaultError('decrypt_failed', `${what} could not be decrypted`);
  }
}

/** Strict base64 (standard alphabet, optional padding): Buffer.from() alone silently skips junk. */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

export function decodeBase64(value: unknown): Buffer | null {
  if (typeof value !== 'string' || !BASE64_RE.test(value)) return null;
  return Buffer.from(value, 'base64');
}
