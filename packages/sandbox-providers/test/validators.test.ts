import { isValidCnpj, isValidCpf, isValidNfeKey, isValidTrackingCode, isWellFormedCredential, normalizeCep } from '../src';

describe('validators', () => {
  it('checks CPF digits', () => {
    expect(isValidCpf('12345678909')).toBe(true);
    expect(isValidCpf('123.456.789-09')).toBe(true);
    expect(isValidCpf('12345678900')).toBe(false);
    expect(isValidCpf('11111111111')).toBe(false);
    expect(isValidCpf('1234567890')).toBe(false);
  });

  it('checks CNPJ digits', () => {
    expect(isValidCnpj('11222333000181')).toBe(true);
    expect(isValidCnpj('11.222.333/0001-81')).toBe(true);
    expect(isValidCnpj('11222333000180')).toBe(false);
    expect(isValidCnpj('00000000000000')).toBe(false);
  });

  it('normalizes 8-digit CEPs only', () => {
    expect(normalizeCep('01310-100')).toBe('01310100');
    expect(normalizeCep('01310100')).toBe('01310100');
    expect(normalizeCep('1310100')).toBeNull();
    expect(normalizeCep('0131010a')).toBeNull();
  });

  it('checks NF-e keys and S10 tracking codes', () => {
    const key43 = '3526115118745400011655001000000001100007919';
    // find the right check digit, then prove a wrong one fails
    const valid = [...'0123456789'].map((d) => key43 + d).filter(isValidNfeKey);
    expect(valid).toHaveLength(1);
    expect(isValidNfeKey('1'.repeat(44))).toBe(false);
    expect(isValidTrackingCode('SS123456785BR')).toBe(true);
    expect(isValidTrackingCode('SS123456784BR')).toBe(false);
  });

  it('accepts credentials of 8-200 printable ASCII characters', () => {
    expect(isWellFormedCredential('sk_test_12345')).toBe(true);
    expect(isWellFormedCredential('short')).toBe(false);
    expect(isWellFormedCredential('x'.repeat(201))).toBe(false);
    expect(isWellFormedCredential('abc\ndefghij')).toBe(false);
    expect(isWellFormedCredential('sênhasecreta')).toBe(false);
    expect(isWellFormedCredential(undefined)).toBe(false);
  });
});
