/**
 * Hostile bodies are refused after bounded work (issue #11, poison-input drill): a declared
 * oversize body is answered 413 before it is sent, a 50,000-deep body is refused by a byte scan
 * without being parsed, and a tenant path the caller can never use is refused before its body is
 * read. Real API, Redis and Postgres.
 */
import net from 'node:net';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, TEST_OPERATOR_KEY, testRedisPrefix, rowCount } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { jsonDepth, MAX_JSON_DEPTH, nestsDeeperThan } from '../src/middleware/json-body';

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let op: ReturnType<typeof apiClient>;
const T = 'tenant_hostile';

beforeAll(async () => {
  tdb = await createTestDatabase('hostile_bodies');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  op = apiClient(api.url);
  expect((await op('POST', '/v1/admin/tenants', { body: { id: T, servers: ['asaas'] } })).status).toBe(201);
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

const jobCount = () => rowCount(tdb.db, 'jobs');

/** Writes `head` (and nothing else) on a fresh connection and resolves with the status line and JSON code of the answer. */
function answerTo(head: string): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(api.port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no answer within 5 s; got ${JSON.stringify(buf)}`))), 5_000);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf);
      if (end >= 0 && len && buf.length - end - 4 >= Number(len[1])) {
        clearTimeout(timer);
        s.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1]), code: (JSON.parse(buf.slice(end + 4)) as { error?: { code?: string } }).error?.code });
      }
    });
    s.on('error', reject);
    s.write(head);
  });
}

test('the byte scan agrees with the parsed depth, brackets inside strings and escapes included', () => {
  const bodies = [
    '{}',
    '[]',
    '{"a":[1,{"b":[[]]}]}',
    '{"s":"[[[[{{{{","t":"\\"[[[","u":"\\\\"}',
    '{"k\\"[":"\\u005b\\u007b","nested":[["ü€😀",{"x":"}]"}]]}',
    `{"m":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`,
    `{"m":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`,
    `${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`,
    `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`,
  ];
  for (const b of bodies) {
    const parsedTooDeep = jsonDepth(JSON.parse(b)) > MAX_JSON_DEPTH;
    expect([b.slice(0, 40), nestsDeeperThan(Buffer.from(b), MAX_JSON_DEPTH)]).toEqual([b.slice(0, 40), parsedTooDeep]);
  }
  // The last two straddle the limit: exactly MAX_JSON_DEPTH is allowed, one more is not.
  expect(nestsDeeperThan(Buffer.from(bodies[7]!), MAX_JSON_DEPTH)).toBe(false);
  expect(nestsDeeperThan(Buffer.from(bodies[8]!), MAX_JSON_DEPTH)).toBe(true);
});

test('50,000-deep arrays and 20,000-deep objects are 400 validation_failed and write nothing', async () => {
  const before = await jobCount();
  const deepArray = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
  const deepObject = JSON.stringify({ type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] }).replace(
    /}$/,
    `,"metadata":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`,
  );
  for (const rawBody of [deepArray, deepObject]) {
    const r = await op('POST', `/v1/tenants/${T}/jobs`, { rawBody, headers: { 'content-type': 'application/json' } });
    expect([r.status, r.body.error.code, r.body.error.details]).toEqual([
      400,
      'validation_failed',
      [{ path: 'body', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    ]);
  }
  // Deep but not valid JSON: refused as too deep, still a 400 with a documented code.
  const r = await op('POST', `/v1/tenants/${T}/jobs`, { rawBody: '['.repeat(50_000), headers: { 'content-type': 'application/json' } });
  expect([r.status, r.body.error.code]).toEqual([400, 'validation_failed']);
  expect(await jobCount()).toBe(before);
});

test('a NUL character (U+0000) or an unpaired surrogate in any string is 400 validation_failed naming where, on both body paths, and writes nothing', async () => {
  const before = await jobCount();
  const job = (args: unknown, input?: string) => ({ type: 'workflow', input, steps: [{ tool: 'asaas/create_customer', args }] });
  const cases: Array<[unknown, string]> = [
    [job({}, 'Ana\u0000'), 'body.input'],
    [job({ list: ['ok', { deep: 'x\u0000y' }] }), 'body.steps.0.args.list.1.deep'],
    [job({ ['k\u0000']: 1 }), 'body.steps.0.args'],
  ];
  for (const [body, path] of cases) {
    // The common form (read directly) and a charset spelling that goes through body-parser.
    for (const type of ['application/json', 'application/json; charset=UTF-8; x=1']) {
      const r = await op('POST', `/v1/tenants/${T}/jobs`, { rawBody: JSON.stringify(body), headers: { 'content-type': type } });
      expect([r.status, r.body.error.code, r.body.error.details]).toEqual([
        400,
        'validation_failed',
        [{ path, message: 'must not contain the NUL character (U+0000)' }],
      ]);
    }
  }
  // Postgres refuses unpaired surrogates too (a JSON escape can write one; it answered 500).
  for (const raw of [
    '{"type":"workflow","steps":[{"tool":"asaas/create_customer","args":{"name":"x\\ud800"}}]}',
    '{"type":"workflow","input":"\\udc00","steps":[{"tool":"asaas/create_customer","args":{}}]}',
  ]) {
    for (const type of ['application/json', 'application/json; charset=UTF-8; x=1']) {
      const r = await op('POST', `/v1/tenants/${T}/jobs`, { rawBody: raw, headers: { 'content-type': type } });
      expect([r.status, r.body.error.code, r.body.error.details?.[0]?.message]).toEqual([
        400,
        'validation_failed',
        'must not contain an unpaired UTF-16 surrogate',
      ]);
    }
  }
  // A surrogate pair written as escapes is an ordinary character.
  const emoji = await op('POST', `/v1/tenants/${T}/jobs`, {
    rawBody: '{"type":"workflow","steps":[{"tool":"asaas/create_customer","args":{"name":"Ana \\ud83d\\ude00","cpfCnpj":"52998224725"}}]}',
    headers: { 'content-type': 'application/json' },
  });
  expect(emoji.status).toBe(202);
  // An escaped backslash followed by "u0000" is ordinary text, not a NUL.
  const ok = await op('POST', `/v1/tenants/${T}/jobs`, { body: job({ name: 'C:\\u0000', cpfCnpj: '52998224725' }) });
  expect(ok.status).toBe(202);
  expect(await jobCount()).toBe(before + 2);
});

test('a declared Content-Length over the limit is 413, and the answer reaches a Connection: close client whose upload is still arriving', async () => {
  // The body is discarded unread before the answer: closing the socket with an upload still in
  // flight can reset the connection and lose the 413. That race is timing-dependent (the poison
  // drill saw it once in 1,000 on a loaded machine; this test does not force it) — here the
  // answer and its code are checked for that client shape.
  const size = 2 * 1024 * 1024;
  const head = `POST /v1/tenants/${T}/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_OPERATOR_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`;
  const body = `{"input":"${'x'.repeat(size - 12)}"}`;
  expect(Buffer.byteLength(body)).toBe(size);
  for (let i = 0; i < 10; i++) expect(await answerTo(head + body)).toEqual({ status: 413, code: 'payload_too_large' });
});

test('the connection stays usable after an early 413 whose body the client did send', async () => {
  // fetch sends the whole body; Node discards the unread rest after the answer.
  const big = JSON.stringify({ type: 'agent', input: 'x'.repeat(1024 * 1024) });
  for (let i = 0; i < 3; i++) {
    const r = await op('POST', `/v1/tenants/${T}/jobs`, { rawBody: big, headers: { 'content-type': 'application/json' } });
    expect([r.status, r.body.error.code]).toEqual([413, 'payload_too_large']);
    const ok = await op('GET', `/v1/tenants/${T}/jobs`);
    expect(ok.status).toBe(200);
  }
});

test('a tenant path the caller can never use is refused before its body is read', async () => {
  // Headers only, a body promised but never sent: the answer cannot depend on the body.
  const head = (path: string, key: string) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
  expect(await answerTo(head('/v1/tenants/%F0%9F%92%A3/jobs', TEST_OPERATOR_KEY))).toEqual({ status: 404, code: 'tenant_not_found' });
  const k = await op('POST', `/v1/admin/tenants/${T}/api-keys`, { body: { environment: 'live', name: 'hostile' } });
  expect(k.status).toBe(201);
  expect(await answerTo(head('/v1/tenants/tenant_other/jobs', k.body.key))).toEqual({ status: 404, code: 'tenant_not_found' });
  // Unauthenticated: 401 before the body too.
  expect(await answerTo(head(`/v1/tenants/${T}/jobs`, `ak_live_${'Z'.repeat(40)}`))).toEqual({ status: 401, code: 'unauthorized' });
});
