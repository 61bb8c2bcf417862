import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string equality. Both sides are hashed first (SHA-256) so the comparison takes the
 * same time whatever the lengths: `timingSafeEqual` alone throws on a length mismatch, and an early
 * return on it would tell an attacker the secret's length.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
