/**
 * A job's `model` goes to the model provider verbatim (and is billed to the operator's account):
 * only the models the operator allows are accepted (OPENAI_ALLOWED_MODELS, default OPENAI_MODEL
 * alone); any other is 400 model_not_allowed and nothing is written.
 */
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { loadConfig } from '@agents/config';
import { silentLogger } from '@agents/observability';
import { apiClient, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let prefix: string;
let strict: ApiServer;
let listed: ApiServer;
let callStrict: ReturnType<typeof apiClient>;
let callListed: ReturnType<typeof apiClient>;
const T = 'tenant_models';

beforeAll(async () => {
  tdb = await createTestDatabase('jobmodel');
  prefix = testRedisPrefix();
  strict = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, OPENAI_MODEL: 'gpt-4o-mini' }), silentLogger(), { port: 0 });
  listed = await startApi(
    testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, OPENAI_MODEL: 'gpt-4o-mini', OPENAI_ALLOWED_MODELS: 'gpt-4o, o3-mini' }),
    silentLogger(),
    { port: 0 },
  );
  callStrict = apiClient(strict.url);
  callListed = apiClient(listed.url);
  expect((await callStrict('POST', '/v1/admin/tenants', { body: { id: T, servers: ['asaas'] } })).status).toBe(201);
});

afterAll(async () => {
  await strict?.close();
  await listed?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

const agent = (model?: string) => ({ input: 'Cobrar o cliente 42', servers: ['asaas'], ...(model === undefined ? {} : { model }) });

test('a model the operator did not allow is 400 model_not_allowed, and no job is written', async () => {
  const before = await tdb.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  for (const model of ['gpt-4o', 'o1-pro', 'gpt-4o-mini ']) {
    const r = await callStrict('POST', `/v1/tenants/${T}/jobs`, { body: agent(model) });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('model_not_allowed');
    expect(r.body.error.message).toMatch(/not allowed/);
    expect(r.body.error.details).toEqual([{ path: 'body.model', message: expect.any(String) }]);
  }
  const after = await tdb.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  expect(after.n).toBe(before.n);
});

test('the configured OPENAI_MODEL, a model of OPENAI_ALLOWED_MODELS, and no model at all are accepted', async () => {
  expect((await callStrict('POST', `/v1/tenants/${T}/jobs`, { body: agent() })).status).toBe(202);
  const named = await callStrict('POST', `/v1/tenants/${T}/jobs`, { body: agent('gpt-4o-mini') });
  expect(named.status).toBe(202);
  expect((await tdb.db.selectFrom('jobs').select('model').where('id', '=', named.body.id).executeTakeFirstOrThrow()).model).toBe('gpt-4o-mini');
  for (const model of ['gpt-4o', 'o3-mini', 'gpt-4o-mini'])
    expect((await callListed('POST', `/v1/tenants/${T}/jobs`, { body: agent(model) })).status).toBe(202);
  expect((await callListed('POST', `/v1/tenants/${T}/jobs`, { body: agent('o1-pro') })).body.error.code).toBe('model_not_allowed');
});

test('OPENAI_ALLOWED_MODELS: a comma list, trimmed, always including OPENAI_MODEL; unset means OPENAI_MODEL alone', () => {
  expect(loadConfig({}).openai.allowedModels).toEqual(['gpt-4o-mini']);
  expect(loadConfig({ OPENAI_MODEL: 'm1' }).openai.allowedModels).toEqual(['m1']);
  expect(loadConfig({ OPENAI_MODEL: 'm1', OPENAI_ALLOWED_MODELS: ' m2 ,m3,,m1' }).openai.allowedModels).toEqual(['m1', 'm2', 'm3']);
});
