import { inspect } from 'node:util';
import { KEY_BYTES, decodeBase64 } from './aead';
import { VaultError } from './vault-error';

/**
 * The master keys (key-encryption keys). `activeKid` wraps new data keys; every key in `keys`
 * can unwrap, so a rotation is "put the new key first, keep the old ones until rewrapped".
 */
export interface MasterKeyring {
  activeKid: string;
  keys: Map<string, Buffer>;
}

const KID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const DEFAULT_KID = 'k1';

/**
 * Parses `VAULT_MASTER_KEY`: either one base64 32-byte key (kid "k1") or `kid1:base64,kid2:base64`
 * where the first entry is the active one. Errors name the entry (position and kid) and the
 * problem, never the key text.
 */
export function parseMasterKeys(spec: string): MasterKeyring {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new VaultError('vault_config_invalid', 'VAULT_MASTER_KEY is empty: set a base64 32-byte key or "kid:base64,..."');
  }
  const trimmed = spec.trim();
  // Base64 never contains ':' or ',', so their absence means the single-key form.
  if (!trimmed.includes(':') && !trimmed.includes(',')) {
    const key = decodeKey(trimmed, `VAULT_MASTER_KEY`);
    return redacted({ activeKid: DEFAULT_KID, keys: new Map([[DEFAULT_KID, key]]) });
  }

  const keys = new Map<string, Buffer>();
  let activeKid: string | undefined;
  trimmed.split(',').forEach((rawEntry, index) => {
    const entry = rawEntry.trim();
    const where = `VAULT_MASTER_KEY entry ${index + 1}`;
    if (entry === '') throw new VaultError('vault_config_invalid', `${where} is empty (stray comma?)`);
    const colon = entry.indexOf(':');
    if (colon < 0) {
      throw new VaultError('vault_config_invalid', `${where} has no key id: use "kid:base64" for every entry of a list`);
    }
    const kid = entry.slice(0, colon).trim();
    if (!KID_RE.test(kid)) {
      throw new VaultError('vault_config_invalid', `${where} has an invalid key id (1-64 of A-Z a-z 0-9 _ . -)`);
    }
    if (keys.has(kid)) throw new VaultError('vault_config_invalid', `${where}: key id "${kid}" appears twice`);
    keys.set(kid, decodeKey(entry.slice(colon + 1).trim(), `${where} (kid "${kid}")`));
    activeKid ??= kid;
  });
  if (activeKid === undefined) throw new VaultError('vault_config_invalid', 'VAULT_MASTER_KEY has no keys');
  return redacted({ activeKid, keys });
}

/**
 * A keyring that ends up in console.log, util.inspect or JSON.stringify shows its kids only.
 * The hooks are non-enumerable so the object still has exactly the MasterKeyring shape.
 */
function redacted(ring: MasterKeyring): MasterKeyring {
  const summary = (): { activeKid: string; kids: string[] } => ({ activeKid: ring.activeKid, kids: [...ring.keys.keys()] });
  Object.defineProperty(ring, 'toJSON', { value: summary, enumerable: false });
  Object.defineProperty(ring, inspect.custom, { value: () => `MasterKeyring ${JSON.stringify(summary())}`, enumerable: false });
  return ring;
}

function decodeKey(text: string, where: string): Buffer {
  const key = decodeBase64(text);
  if (key === null || text === '') {
    throw new VaultError('vault_config_invalid', `${where} is not valid base64 (generate one with: openssl rand -base64 32)`);
  }
  if (key.length !== KEY_BYTES) {
    const got = key.length;
    key.fill(0);
    throw new VaultError('vault_config_invalid', `${where} decodes to ${got} bytes; a master key must be exactly ${KEY_BYTES} bytes`);
  }
  return key;
}
