/**
 * The job body's plain checks (fastJobBody) against zod's createJobBody on generated bodies, valid
 * and invalid: whatever they accept, zod accepts too and parses to the very same value (keys,
 * key order, defaults, fresh objects); whatever zod refuses, they leave to zod (which words the
 * error). Bodies come from JSON text, as the route gets them.
 */
import { createJobBody } from '../src/schemas';
import { fastJobBody } from '../src/job-body';
import { isoDateFromNow } from '@agents/testkit';

/** Deterministic (mulberry32), so a failure reproduces. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(20261128);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const chance = (p: number) => rnd() < p;
const str = (n: number, alphabet = 'abcz09-_/.:Ü \u0000😀') => Array.from({ length: n }, () => pick([...alphabet])).join('');

const odd = (): unknown => pick([null, true, 0, -1, 1.5, 101, '', 'x', [], {}, [1], { a: 1 }, str(3), 1e21, '1']);

function arg(): unknown {
  return chance(0.2) ? odd() : pick(['Cliente', 52998224725, { nested: [1, { deep: 'x' }] }, null, ['a'], '{{steps.0.data.id}}']);
}

function args(): unknown {
  if (chance(0.1)) return odd();
  const o: Record<string, unknown> = {};
  const n = Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) o[pick(['name', 'cpfCnpj', 'value', '0', '10', '2', 'constructor', 'toString', str(2)])] = arg();
  return o;
}

function step(): unknown {
  if (chance(0.05)) return odd();
  const s: Record<string, unknown> = {};
  const tool = pick(['asaas/create_customer', 'asaas/create_payment', 'a/b', 'Asaas/x', 'asaas/', '/x', 'asaas/x-y', `${'a'.repeat(63)}/${'b'.repeat(64)}`, `${'a'.repeat(64)}/b`, 'asaas/x/y']);
  const order = chance(0.5);
  if (order) {
    if (!chance(0.05)) s.tool = chance(0.05) ? odd() : tool;
    if (chance(0.8)) s.args = args();
  } else {
    if (chance(0.8)) s.args = args();
    if (!chance(0.05)) s.tool = chance(0.05) ? odd() : tool;
  }
  if (chance(0.05)) s.extra = 1;
  return s;
}

function metadata(): unknown {
  if (chance(0.1)) return odd();
  const m: Record<string, unknown> = {};
  if (chance(0.1)) {
    // Around the 20-pair limit.
    for (let i = 19 + Math.floor(rnd() * 3); i > 0; i--) m[`k${i}`] = 'v';
    return m;
  }
  for (let i = Math.floor(rnd() * 4); i > 0; i--) {
    const k = pick(['order_id', 'a.b:c-d', '7', '', 'has space', 'k'.repeat(40), 'k'.repeat(41), `key${i}`, `key${i}`, 'ção']);
    m[k] = chance(0.1) ? odd() : pick(['x', '', 'v'.repeat(500), 'v'.repeat(501), str(5)]);
  }
  return m;
}

/** A body built key by key in a random order, most keys usually valid. */
function body(): Record<string, unknown> {
  const type = pick(['agent', 'workflow', 'workflow', undefined, 'other']);
  const parts: Array<[string, () => unknown]> = [];
  if (type !== undefined || chance(0.1)) parts.push(['type', () => (chance(0.05) ? odd() : type)]);
  if (type !== 'workflow' ? !chance(0.1) : chance(0.1)) parts.push(['input', () => (chance(0.1) ? pick(['', 'i'.repeat(32_000), 'i'.repeat(32_001), 7]) : str(1 + Math.floor(rnd() * 20)))]);
  if (type === 'workflow' ? !chance(0.1) : chance(0.1))
    parts.push(['steps', () => (chance(0.05) ? pick([[], odd(), Array.from({ length: 51 }, step)]) : Array.from({ length: 1 + Math.floor(rnd() * 3) }, step))]);
  if (chance(0.3)) parts.push(['servers', () => (chance(0.1) ? pick([[], odd(), Array.from({ length: 33 }, () => 'a')]) : Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(['asaas', 'stripe', 'a', 'Asaas', '-x', 'a'.repeat(63), 'a'.repeat(64), 5])))]);
  if (chance(0.5)) parts.push(['metadata', metadata]);
  if (chance(0.1)) parts.push(['callback_url', () => pick(['https://example.com/hook', 'not a url', ''])]);
  if (chance(0.3)) parts.push(['max_iterations', () => pick([1, 50, 100, 0, 101, 2.5, '3', -1])]);
  if (chance(0.3)) parts.push(['model', () => pick(['m', 'model-x', '', 'm'.repeat(100), 'm'.repeat(101), 3])]);
  if (chance(0.3)) parts.push(['environment', () => pick(['test', 'live', 'prod', null])]);
  if (chance(0.05)) parts.push([pick(['unknown', 'Type', 'tenant_id']), odd]);
  parts.sort(() => rnd() - 0.5);
  return Object.fromEntries(parts.map(([k, v]) => [k, v()]));
}

/** What the route gets: the JSON text parsed, so `__proto__` keys arrive as own keys. */
const viaJson = (text: string): unknown => JSON.parse(text);

function expectSameAsZod(b: unknown): 'fast' | 'zod' {
  const z = createJobBody.safeParse(b);
  const f = fastJobBody(b);
  if (f === undefined) return 'zod';
  expect(z.success).toBe(true);
  // Same keys in the same order at every level, same values, plain objects and arrays.
  expect(JSON.stringify(f)).toBe(JSON.stringify(z.data));
  expect(f).toStrictEqual(z.data);
  // Fresh containers, as zod builds them (the args' values are passed through, by zod too).
  const given = b as Record<string, any>;
  const made = f as Record<string, any>;
  expect(made).not.toBe(given);
  for (const k of ['steps', 'servers', 'metadata']) if (made[k] !== undefined) expect(made[k]).not.toBe(given[k]);
  made.steps?.forEach((s: Record<string, unknown>, i: number) => {
    expect(s).not.toBe(given.steps[i]);
    expect(s.args).not.toBe(given.steps[i].args);
  });
  return 'fast';
}

test('on 20,000 generated bodies: accepted only when zod accepts, parsed to the same value', () => {
  let fast = 0;
  let zodValid = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = viaJson(JSON.stringify(body()));
    if (createJobBody.safeParse(b).success) zodValid++;
    if (expectSameAsZod(b) === 'fast') fast++;
  }
  // Most bodies zod accepts are vouched for here (the rest: callback URLs); the generator makes both kinds.
  expect(zodValid).toBeGreaterThan(1_500);
  expect(fast).toBeGreaterThan(zodValid * 0.8);
});

test('unusual keys and edge bodies are left to zod or parsed as zod parses them', () => {
  const bodies = [
    '{"type":"workflow","steps":[{"tool":"asaas/x","args":{"__proto__":{"polluted":1}}}]}',
    '{"type":"workflow","metadata":{"__proto__":"x"},"steps":[{"tool":"asaas/x"}]}',
    '{"__proto__":{"type":"agent"},"input":"hi"}',
    '{"input":"hi"}',
    '{"type":"agent","input":"hi","steps":[{"tool":"asaas/x"}]}',
    '{"type":"workflow","steps":[{"args":{"b":1,"a":2,"1":3},"tool":"asaas/x"}],"input":"x"}',
    '{"type":"workflow","steps":[{"tool":"asaas/x","args":[]}]}',
    '{"type":"workflow","steps":[{"tool":"asaas/x","args":null}]}',
    '{"type":"workflow","metadata":{"2":"b","1":"a","z":"c"},"steps":[{"tool":"asaas/x"}]}',
    '{}',
    '[]',
    '"x"',
    'null',
  ];
  for (const text of bodies) expectSameAsZod(viaJson(text));
  expect(fastJobBody(undefined)).toBeUndefined();
});

test("the bodies clients send are vouched for: the benchmark's workflow and an agent job", () => {
  const workflow = {
    type: 'workflow',
    metadata: { order_id: 'o1' },
    steps: [
      { tool: 'asaas/create_customer', args: { name: 'Cliente', cpfCnpj: '52998224725' } },
      { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 50, dueDate: isoDateFromNow(7) } },
    ],
  };
  const agent = { input: 'Cobrar o cliente 42', servers: ['asaas'], max_iterations: 5, model: 'm', environment: 'test' };
  for (const b of [workflow, agent]) expect(expectSameAsZod(viaJson(JSON.stringify(b)))).toBe('fast');
});
