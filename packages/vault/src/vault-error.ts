/**
 * Stable error codes of the vault. Messages never contain key material or plaintext, so callers
 * may log them; the code is what callers branch on.
 */
export type VaultErrorCode = 'vault_config_invalid' | 'decrypt_failed' | 'unknown_kid' | 'invalid_key' | 'invalid_input';

export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
  }
}
