/**
 * The Idempotency-Key request hash is SHA-256 of canonical JSON; hashes stored with jobs are
 * compared with later requests', so the faster canonicalJson must write exactly what the original
 * implementation wrote, for any value.
 */
import { canonicalJson } from '../src/submission/canonical-json';

/** The original implementation (apps/api/src/routes/jobs.ts before issue #11's ingress work), kept as the reference. */
function canonicalJsonReference(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJsonReference).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJsonReference((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Deterministic pseudo-random values (xorshift), JSON-like plus the odd non-JSON member. */
function generator(seed: number) {
  let x = seed;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const strings = [
    '',
    'a',
    'b',
    'B',
    'aa',
    '10',
    '9',
    '1',
    '-1',
    'é',
    'z\u0000',
    '\ud800',
    '😀',
    'quote"back\\slash',
    'line\nbreak',
    '__proto__x',
    'tenant_id',
  ];
  const scalar = () =>
    [null, true, false, 0, -0, 1.5, -2e21, 1e-7, NaN, Infinity, 12345678901234567890, strings[Math.floor(rnd() * strings.length)], undefined][
      Math.floor(rnd() * 13)
    ];
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 4 || r < 0.4) return scalar();
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 5) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--)
      o[strings[Math.floor(rnd() * strings.length)]! + (rnd() < 0.3 ? String(Math.floor(rnd() * 20)) : '')] = value(depth + 1);
    return o;
  };
  return value;
}

test('canonicalJson writes exactly what the original implementation wrote, over 10,000 generated values', () => {
  for (let seed = 1; seed <= 10_000; seed++) {
    const v = generator(seed)(0);
    expect(canonicalJson(v)).toBe(canonicalJsonReference(v));
  }
});

test('canonicalJson on the shapes the API hashes: sorted keys at every level, no whitespace', () => {
  const body = {
    type: 'workflow',
    metadata: { order_id: 'A-1', b: 'x' },
    steps: [{ tool: 'asaas/create_customer', args: { name: 'Cliente', cpfCnpj: '52998224725' } }],
    environment: 'live',
  };
  expect(canonicalJson(body)).toBe(
    '{"environment":"live","metadata":{"b":"x","order_id":"A-1"},"steps":[{"args":{"cpfCnpj":"52998224725","name":"Cliente"},"tool":"asaas/create_customer"}],"type":"workflow"}',
  );
  expect(canonicalJson(body)).toBe(canonicalJsonReference(body));
  expect(canonicalJson([undefined, { a: undefined }, () => 1])).toBe(canonicalJsonReference([undefined, { a: undefined }, () => 1]));
});
