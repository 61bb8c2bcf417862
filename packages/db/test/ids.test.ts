/**
 * Ids (newId): `<prefix>_` + 10 chars of millisecond time + 16 random chars, lower-case Crockford
 * base32. The random part is drawn from a pool of random bytes refilled as it runs out: ids stay
 * unique across refills and every position of the random part takes every symbol.
 */
import { newId } from '../src/ids';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

test('format: lower-case prefix, time then randomness, 26 base32 chars', () => {
  expect(newId('job')).toMatch(/^job_[0-9a-hjkmnp-tv-z]{26}$/);
  expect(newId('KEY')).toMatch(/^key_[0-9a-hjkmnp-tv-z]{26}$/);
  // The time part is the millisecond timestamp in base32, most significant first.
  expect(newId('job', 0).slice(4, 14)).toBe('0000000000');
  expect(newId('job', 32 ** 9).slice(4, 14)).toBe('1000000000');
  expect(newId('job', Date.UTC(2026, 10, 28, 16, 0, 0)).slice(4, 14)).toBe(
    Array.from({ length: 10 }, (_, i) => ALPHABET[Math.floor(Date.UTC(2026, 10, 28, 16, 0, 0) / 32 ** (9 - i)) % 32]).join(''),
  );
});

test('ids sort by creation time', () => {
  const t = Date.UTC(2026, 10, 28);
  const ids = [t + 1000, t, t + 1, t + 32, t + 1024].map((ms) => newId('job', ms));
  expect([...ids].sort()).toEqual([ids[1], ids[2], ids[3], ids[0], ids[4]]);
});

test('100,000 ids of one millisecond (hundreds of pool refills) are all different, and the random part is spread over the alphabet', () => {
  const now = Date.now();
  const seen = new Set<string>();
  const counts = Array.from({ length: 16 }, () => new Map<string, number>());
  for (let i = 0; i < 100_000; i++) {
    const id = newId('job', now);
    seen.add(id);
    const rand = id.slice(14);
    for (let p = 0; p < 16; p++) counts[p]!.set(rand[p]!, (counts[p]!.get(rand[p]!) ?? 0) + 1);
  }
  expect(seen.size).toBe(100_000);
  for (const c of counts) {
    expect(c.size).toBe(32);
    // 3,125 expected per symbol and position; far outside this means the bytes are reused or biased.
    for (const n of c.values()) expect(n).toBeGreaterThan(2_600);
  }
});
