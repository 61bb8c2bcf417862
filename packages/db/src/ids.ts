import { randomFillSync } from 'node:crypto';

/** API.md: operator-chosen tenant ids. Checked before an id reaches SQL or a Redis key. */
export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{2,62}$/;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32 (lower case): sortable, no ambiguous letters

/** Random bytes drawn 4 kB at a time: one fill per ~400 ids instead of a Buffer and a call per id. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/**
 * `<prefix>_<10 chars of ms time><16 random chars>`, lower case: sorts by creation time (so
 * "newest first" and cursors follow id order) and carries 80 bits of randomness, so ids are not
 * guessable.
 */
export function newId(prefix: string, now = Date.now()): string {
  let t = now;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix.toLowerCase()}_${time}${randomIdPart()}`;
}

/** The random part of a newId: 16 chars, 80 bits. */
function randomIdPart(): string {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (const end = poolAt + 10; poolAt < end; poolAt++) {
    acc = (acc << 8) | pool[poolAt]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
  }
  return rand;
}
