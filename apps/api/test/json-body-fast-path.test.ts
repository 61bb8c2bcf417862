/**
 * The JSON body reader's direct path (plain `application/json`, identity encoding, a
 * Content-Length) must answer exactly as body-parser's path, which the same bytes take when sent
 * chunked or with another Content-Type parameter: same status, same error, same parsed body.
 */
import http from 'node:http';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { createTestDatabase, flushPrefix, testConfig, testRedisPrefix, TEST_OPERATOR_KEY } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;

beforeAll(async () => {
  tdb = await createTestDatabase('fastbody');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  const r = await fetch(`${api.url}/v1/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'tenant_body', servers: ['asaas'] }),
  });
  expect(r.status).toBe(201);
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

/** POSTs raw bytes to the job route; `how` picks the path the body takes through the reader. */
function post(bytes: Buffer, how: 'direct' | 'chunked' | 'parameter', contentType = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TEST_OPERATOR_KEY}`, 'content-type': how === 'parameter' ? `${contentType}; x=1` : contentType };
    if (how !== 'chunked') headers['content-length'] = String(bytes.length);
    const req = http.request(`${api.url}/v1/tenants/tenant_body/jobs`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.replace(/job_[0-9a-z]{26}/g, 'job_ID').replace(/"\d{4}-\d\d-\d\dT[^"]+"/g, '"TS"') }));
    });
    req.on('error', reject);
    if (how === 'chunked') {
      // Two chunks, split inside the body, so the chunked read really reassembles it.
      req.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      req.end(bytes.subarray(Math.floor(bytes.length / 2)));
    } else req.end(bytes);
  });
}

const workflow = (extra = '') => `{"type":"workflow","steps":[{"tool":"asaas/list_customers","args":{"q":"é 😀 \\u00e9${extra}"}}]}`;
const bodies: Array<[string, Buffer]> = [
  ['a valid job', Buffer.from(workflow())],
  ['a valid job after whitespace', Buffer.from(` \n\t\r${workflow()}`)],
  ['a valid job after a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(workflow())])],
  ['two BOMs', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(workflow())])],
  ['invalid UTF-8 inside a string', Buffer.concat([Buffer.from(workflow().slice(0, 60)), Buffer.from([0xc3, 0xff, 0xed, 0xa0, 0x80]), Buffer.from(workflow().slice(60))])],
  ['truncated JSON', Buffer.from(workflow().slice(0, 30))],
  ['trailing garbage', Buffer.from(`${workflow()} x`)],
  ['a JSON string', Buffer.from('"workflow"')],
  ['null', Buffer.from('null')],
  ['a number', Buffer.from(' 12')],
  ['an array', Buffer.from('[{"type":"agent"}]')],
  ['only whitespace', Buffer.from('  \n ')],
  ['an empty object', Buffer.from('{}')],
  ['a schema violation', Buffer.from('{"type":"agent","input":"","extra":1}')],
  ['33 levels deep', Buffer.from(`${'['.repeat(33)}${']'.repeat(33)}`)],
  ['32 levels deep', Buffer.from(`{"input":"x","metadata":${'{"a":'.repeat(30)}{}${'}'.repeat(30)}}`)],
  ['brackets inside strings', Buffer.from(`{"input":"${'['.repeat(40)}\\"${'{'.repeat(40)}"}`)],
];

test.each(bodies)('%s: the direct path answers as body-parser does (chunked, and with a Content-Type parameter)', async (_name, bytes) => {
  const direct = await post(bytes, 'direct');
  const chunked = await post(bytes, 'chunked');
  const parameter = await post(bytes, 'parameter');
  expect(direct).toEqual(chunked);
  expect(direct).toEqual(parameter);
});

test('the forms of a plain JSON Content-Type that take the direct path still answer as body-parser does', async () => {
  for (const type of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
    const bytes = Buffer.from(workflow(type));
    expect(await post(bytes, 'direct', type)).toEqual(await post(bytes, 'chunked', type));
  }
  // Not JSON at all: 415 on every path.
  expect((await post(Buffer.from('{}'), 'direct', 'text/plain')).status).toBe(415);
});
