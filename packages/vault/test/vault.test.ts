import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { VaultError, decryptSecret, encryptSecret, generateDataKey, parseMasterKeys, rewrapDataKey, unwrapDataKey, wrapDataKey } from '@agents/vault';
import type { SealedSecret } from '@agents/vault';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const AAD = { tenantId: 'ten_a', server: 'stripe', environment: 'test' };
const PLAINTEXT = { api_key: 'sk_test_supersecret_123', webhook_secret: 'whsec_abc' };

function expectVaultError(fn: () => unknown, code: string): VaultError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(VaultError);
  const err = caught as VaultError;
  expect(err.code).toBe(code);
  return err;
}

/** Flips one bit of a base64 field (decoded), keeping it valid base64 of the same length. */
function flip(b64: string, byteIndex = 0): string {
  const buf = Buffer.from(b64, 'base64');
  buf[byteIndex] = (buf[byteIndex] ?? 0) ^ 0x01;
  return buf.toString('base64');
}

describe('parseMasterKeys', () => {
  it('accepts a single base64 key as kid k1', () => {
    const ring = parseMasterKeys(K1);
    expect(ring.activeKid).toBe('k1');
    expect([...ring.keys.keys()]).toEqual(['k1']);
    expect(ring.keys.get('k1')?.equals(Buffer.from(K1, 'base64'))).toBe(true);
  });

  it('accepts a kid list; the first entry is active and all unwrap', () => {
    const ring = parseMasterKeys(` k2:${K2} , k1:${K1} `);
    expect(ring.activeKid).toBe('k2');
    expect([...ring.keys.keys()]).toEqual(['k2', 'k1']);
  });

  it('never prints key bytes when inspected or serialised', () => {
    const ring = parseMasterKeys(`k2:${K2},k1:${K1}`);
    const raw2 = Buffer.from(K2, 'base64');
    for (const text of [inspect(ring, { depth: 5 }), JSON.stringify(ring), String(ring)]) {
      expect(text).not.toContain(K2);
      expect(text).not.toContain(raw2.toString('hex').slice(0, 8));
      expect(text).not.toMatch(/<Buffer/);
    }
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ activeKid: 'k2', kids: ['k2', 'k1'] });
  });

  it.each([
    ['empty', ''],
    ['not base64', 'not*base64!'],
    ['wrong length', randomBytes(16).toString('base64')],
    ['missing kid in list', `k1:${K1},${K2}`],
    ['duplicate kid', `k1:${K1},k1:${K2}`],
    ['empty entry', `k1:${K1},,k2:${K2}`],
    ['bad kid', `bad kid:${K1}`],
    ['empty key', `k1:`],
  ])('rejects %s without echoing key material', (_name, spec) => {
    const err = expectVaultError(() => parseMasterKeys(spec), 'vault_config_invalid');
    expect(err.message).toMatch(/VAULT_MASTER_KEY/);
    expect(err.message).not.toContain(K1);
    expect(err.message).not.toContain(K2);
  });
});

describe('data keys', () => {
  const ring = parseMasterKeys(`k1:${K1}`);

  it('generates distinct 32-byte keys', () => {
    const a = generateDataKey();
    const b = generateDataKey();
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
  });

  it('wraps and unwraps for the same tenant', () => {
    const dek = generateDataKey();
    const wrapped = wrapDataKey(ring, 'ten_a', dek);
    expect(wrapped.kid).toBe('k1');
    expect(Buffer.from(wrapped.wrapped, 'base64')).toHaveLength(12 + 16 + 32);
    expect(unwrapDataKey(ring, 'ten_a', wrapped).equals(dek)).toBe(true);
  });

  it("refuses tenant A's wrapped key for tenant B", () => {
    const wrapped = wrapDataKey(ring, 'ten_a', generateDataKey());
    expectVaultError(() => unwrapDataKey(ring, 'ten_b', wrapped), 'decrypt_failed');
  });

  it('refuses a tampered wrapped key (iv, tag and ciphertext bytes)', () => {
    const wrapped = wrapDataKey(ring, 'ten_a', generateDataKey());
    for (const index of [0, 12, 28, 59]) {
      expectVaultError(() => unwrapDataKey(ring, 'ten_a', { ...wrapped, wrapped: flip(wrapped.wrapped, index) }), 'decrypt_failed');
    }
    expectVaultError(() => unwrapDataKey(ring, 'ten_a', { ...wrapped, wrapped: wrapped.wrapped.slice(0, 40) }), 'decrypt_failed');
  });

  it('reports an unknown kid', () => {
    const wrapped = wrapDataKey(ring, 'ten_a', generateDataKey());
    expectVaultError(() => unwrapDataKey(ring, 'ten_a', { ...wrapped, kid: 'k9' }), 'unknown_kid');
  });

  it('refuses a data key of the wrong size', () => {
    expectVaultError(() => wrapDataKey(ring, 'ten_a', randomBytes(16)), 'invalid_key');
  });
});

describe('secrets', () => {
  const dek = generateDataKey();

  it('round-trips with a fresh IV each time', () => {
    const a = encryptSecret(dek, PLAINTEXT, AAD);
    const b = encryptSecret(dek, PLAINTEXT, AAD);
    expect(a.v).toBe(1);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(a.tag, 'base64')).toHaveLength(16);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(JSON.stringify(a)).not.toContain('sk_test');
    expect(decryptSecret(dek, a, AAD)).toEqual(PLAINTEXT);
    expect(decryptSecret(dek, b, AAD)).toEqual(PLAINTEXT);
  });

  it('round-trips awkward field names and empty records', () => {
    const odd = JSON.parse('{"__proto__":"x","":"empty name","ü":"ünïcødé"}') as Record<string, string>;
    expect(decryptSecret(dek, encryptSecret(dek, odd, AAD), AAD)).toEqual(odd);
    expect(decryptSecret(dek, encryptSecret(dek, {}, AAD), AAD)).toEqual({});
  });

  it('fails with decrypt_failed when any field is tampered, without leaking plaintext', () => {
    const sealed = encryptSecret(dek, PLAINTEXT, AAD);
    const tampered: SealedSecret[] = [
      { ...sealed, iv: flip(sealed.iv) },
      { ...sealed, tag: flip(sealed.tag) },
      { ...sealed, ct: flip(sealed.ct) },
      { ...sealed, ct: flip(sealed.ct, 10) },
      { ...sealed, tag: Buffer.from(sealed.tag, 'base64').subarray(0, 12).toString('base64') },
      { ...sealed, ct: '' },
      { ...sealed, iv: '***' },
      { ...sealed, v: 2 as unknown as 1 },
    ];
    for (const bad of tampered) {
      const err = expectVaultError(() => decryptSecret(dek, bad, AAD), 'decrypt_failed');
      expect(err.message).not.toContain('sk_test');
    }
  });

  it.each([
    ['another tenant', { ...AAD, tenantId: 'ten_b' }],
    ['another server', { ...AAD, server: 'asaas' }],
    ['another environment', { ...AAD, environment: 'live' }],
  ])('fails when moved to %s', (_name, otherAad) => {
    const sealed = encryptSecret(dek, PLAINTEXT, AAD);
    expectVaultError(() => decryptSecret(dek, sealed, otherAad), 'decrypt_failed');
  });

  it('fails with the wrong data key', () => {
    const sealed = encryptSecret(dek, PLAINTEXT, AAD);
    expectVaultError(() => decryptSecret(generateDataKey(), sealed, AAD), 'decrypt_failed');
  });

  it('names a non-string field without echoing values', () => {
    const err = expectVaultError(() => encryptSecret(dek, { api_key: 42 as unknown as string, other: 'sk_test_x' }, AAD), 'invalid_input');
    expect(err.message).toContain('api_key');
    expect(err.message).not.toContain('sk_test_x');
  });
});

describe('master key rotation', () => {
  it('rewraps data keys under the new active key; existing secrets still decrypt', () => {
    const oldRing = parseMasterKeys(`k1:${K1}`);
    const dek = generateDataKey();
    const wrappedOld = wrapDataKey(oldRing, 'ten_a', dek);
    const sealed = encryptSecret(dek, PLAINTEXT, AAD);

    const newRing = parseMasterKeys(`k2:${K2},k1:${K1}`);
    // Before the rewrap job runs, old wrappings still unwrap through the ring.
    expect(unwrapDataKey(newRing, 'ten_a', wrappedOld).equals(dek)).toBe(true);

    const rewrapped = rewrapDataKey(newRing, 'ten_a', wrappedOld);
    expect(rewrapped.kid).toBe('k2');
    expect(rewrapped.wrapped).not.toBe(wrappedOld.wrapped);

    // Once k1 is retired, only the rewrapped key works; the secret itself was never re-encrypted.
    const k2Only = parseMasterKeys(`k2:${K2}`);
    const unwrapped = unwrapDataKey(k2Only, 'ten_a', rewrapped);
    expect(decryptSecret(unwrapped, sealed, AAD)).toEqual(PLAINTEXT);
    expectVaultError(() => unwrapDataKey(k2Only, 'ten_a', wrappedOld), 'unknown_kid');
    // The rewrap keeps the tenant binding.
    expectVaultError(() => unwrapDataKey(k2Only, 'ten_b', rewrapped), 'decrypt_failed');
  });

  it('refuses to rewrap when the old key is no longer in the ring', () => {
    const wrapped = wrapDataKey(parseMasterKeys(`k1:${K1}`), 'ten_a', generateDataKey());
    expectVaultError(() => rewrapDataKey(parseMasterKeys(`k2:${K2}`), 'ten_a', wrapped), 'unknown_kid');
  });
});
