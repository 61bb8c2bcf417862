export { VaultError } from './vault-error';
export type { VaultErrorCode } from './vault-error';
export { parseMasterKeys } from './master-keys';
export type { MasterKeyring } from './master-keys';
export { generateDataKey, wrapDataKey, unwrapDataKey, rewrapDataKey } from './data-key';
export type { WrappedKey } from './data-key';
export { encryptSecret, decryptSecret } from './secret';
export type { SealedSecret, SecretAad } from './secret';
