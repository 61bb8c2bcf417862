/**
 * The served OpenAPI document declares every field the API actually returns: real responses of
 * the main routes (a whole stack runs, so jobs finish with tool calls, usage and deliveries) are
 * compared key by key, recursively, with the documented schema of their route and status —
 * undeclared keys (where the schema does not allow additional properties) and missing required
 * keys both fail. Also: the documented headers (RateLimit-*, Retry-After, X-Request-Id,
 * Idempotent-Replayed, WWW-Authenticate), the metadata limits, and the job body as agent | workflow
 * with examples that the API accepts.
 */
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, HttpResult, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';

jest.setTimeout(60_000);

const T = 'tenant_loja';
const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
let doc: any;

type Schema = Record<string, any>;

function resolve(s: Schema | undefined): Schema {
  let cur = s ?? {};
  while (cur.$ref) cur = doc.components.schemas[String(cur.$ref).replace('#/components/schemas/', '')];
  return cur;
}

const typeOf = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;

function typeMatches(schema: Schema, v: unknown): boolean {
  const t = schema.type;
  if (t === undefined) return true;
  const types: string[] = Array.isArray(t) ? t : [t];
  const actual = typeOf(v);
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}

/** The problems of `value` against `schema`: undeclared keys, missing required keys, wrong types. */
function problems(value: unknown, raw: Schema | undefined, at: string): string[] {
  const schema = resolve(raw);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const results = (branches as Schema[]).map((b) => problems(value, b, at));
    return results.find((r) => r.length === 0) ?? results.sort((a, b) => a.length - b.length)[0]!;
  }
  if (schema.allOf) return (schema.allOf as Schema[]).flatMap((b) => problems(value, b, at));
  if (!typeMatches(schema, value)) return [`${at}: ${typeOf(value)} where the document says ${JSON.stringify(schema.type)}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => problems(v, schema.items, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  const props: Record<string, Schema> = schema.properties ?? {};
  for (const [k, v] of Object.entries(value)) {
    if (k in props) out.push(...problems(v, props[k], `${at}.${k}`));
    else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
      out.push(...problems(v, schema.additionalProperties, `${at}.${k}`));
    // A schema with no properties at all (z.unknown(), a free-form record) documents any object.
    else if (schema.additionalProperties === false || schema.properties) out.push(`${at}.${k}: not documented`);
  }
  for (const k of schema.required ?? []) if (!(k in value)) out.push(`${at}.${k}: documented as required, missing`);
  return out;
}

/** The documented response of `operationId` for `status`. */
function documented(operationId: string, status: number) {
  for (const [p, ops] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      if (op.operationId === operationId) {
        const res = op.responses[String(status)];
        if (!res) throw new Error(`${operationId} (${method} ${p}) documents no ${status} response`);
        return res;
      }
    }
  }
  throw new Error(`no operation ${operationId}`);
}

const seen = new Set<string>();
function conforms(operationId: string, r: HttpResult) {
  seen.add(operationId);
  const res = documented(operationId, r.status);
  const schema = res.content?.['application/json']?.schema;
  expect({ operationId, status: r.status, problems: schema ? problems(r.body, schema, 'body') : r.text ? ['a body where none is documented'] : [] }).toEqual({
    operationId,
    status: r.status,
    problems: [],
  });
  // Every documented header the answer sets is declared, and every answer carries X-Request-Id.
  const declared = new Set(Object.keys(res.headers ?? {}).map((h) => h.toLowerCase()));
  expect({ operationId, requestId: declared.has('x-request-id') && r.headers.get('x-request-id') !== null }).toEqual({ operationId, requestId: true });
  for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'idempotent-replayed', 'www-authenticate', 'location']) {
    if (r.headers.get(h) !== null)
      expect({ operationId, status: r.status, header: h, declared: declared.has(h) }).toEqual({ operationId, status: r.status, header: h, declared: true });
  }
}

beforeAll(async () => {
  stack = await startTestStack(apps, { label: 'oaresponses', env: { WEBHOOK_RETRY_SCHEDULE: '1s' } });
  call = stack.call;
  doc = (await call('GET', '/openapi.json')).body;
});

afterAll(() => stack?.stop());

test('every field of the main routes’ responses is declared, with its headers', async () => {
  const createTenant = await call('POST', '/v1/admin/tenants', {
    body: { id: T, name: 'Loja', servers: ['asaas', 'z-api'], webhook_url: 'http://127.0.0.1:9/hooks', limits: { requests_per_minute: 1000 } },
  });
  conforms('createTenant', createTenant);
  conforms('getTenant', await call('GET', `/v1/admin/tenants/${T}`));
  conforms('listTenants', await call('GET', '/v1/admin/tenants'));
  conforms('updateTenant', await call('PATCH', `/v1/admin/tenants/${T}`, { body: { name: 'Loja Ltda' } }));
  conforms('rotateWebhookSecret', await call('POST', `/v1/admin/tenants/${T}/webhook-secret/rotate`));
  const key = await call('POST', `/v1/admin/tenants/${T}/api-keys`, { body: { environment: 'live', name: 'docs' } });
  conforms('createApiKey', key);
  conforms('listApiKeys', await call('GET', `/v1/admin/tenants/${T}/api-keys`));
  conforms(
    'putCredentials',
    await call('PUT', `/v1/tenants/${T}/credentials/asaas?environment=live`, { body: { values: { api_key: 'aact_sandbox_openapi_0001' } } }),
  );
  conforms('listCredentials', await call('GET', `/v1/tenants/${T}/credentials`));
  conforms('listServers', await call('GET', '/v1/servers'));

  // The documented examples are accepted as they are (Try-it-out against the demo tenant).
  const body = doc.paths['/v1/tenants/{tid}/jobs'].post.requestBody.content['application/json'];
  const examples = Object.values<any>(body.examples ?? {}).map((e) => e.value);
  expect(examples.length).toBeGreaterThanOrEqual(2);
  const ids: string[] = [];
  for (const example of examples) {
    const r = await call('POST', `/v1/tenants/${T}/jobs`, { key: key.body.key, body: example, headers: { 'idempotency-key': `ex-${ids.length}` } });
    expect({ example, status: r.status }).toEqual({ example, status: 202 });
    conforms('createJob', r);
    ids.push(r.body.id);
    const replay = await call('POST', `/v1/tenants/${T}/jobs`, { key: key.body.key, body: example, headers: { 'idempotency-key': `ex-${ids.length - 1}` } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    conforms('createJob', replay);
  }
  const workflow = await call('POST', `/v1/tenants/${T}/jobs`, {
    key: key.body.key,
    body: { type: 'workflow', steps: [{ tool: 'asaas/list_customers', args: {} }], metadata: { order_id: 'A-1' } },
  });
  ids.push(workflow.body.id);
  for (const id of ids) {
    await waitFor(
      async () => {
        const r = await call('GET', `/v1/tenants/${T}/jobs/${id}`);
        return ['succeeded', 'failed'].includes(r.body.status) ? r : undefined;
      },
      { what: `job ${id} to finish` },
    );
  }
  for (const id of ids) conforms('getJob', await call('GET', `/v1/tenants/${T}/jobs/${id}`, { key: key.body.key }));
  conforms('listJobs', await call('GET', `/v1/tenants/${T}/jobs`, { key: key.body.key }));
  const cancelled = await call('POST', `/v1/tenants/${T}/jobs/${ids[0]}/cancel`);
  conforms('cancelJob', cancelled);

  // Usage (rolled-up or not, the shape is the same), the tool-call log, invoices.
  conforms('tenantUsage', await call('GET', `/v1/tenants/${T}/usage?group_by=tool`, { key: key.body.key }));
  conforms('adminUsage', await call('GET', '/v1/admin/usage'));
  conforms('adminToolCalls', await call('GET', `/v1/admin/tool-calls?tenant_id=${T}`));
  const platform = await call('POST', '/v1/admin/api-keys', { body: { environment: 'live', name: 'docs' } });
  conforms('createPlatformKey', platform);
  conforms('listPlatformKeys', await call('GET', '/v1/admin/api-keys'));
  conforms('platformUsage', await call('GET', '/v1/usage', { key: platform.body.key }));
  conforms('platformUsage', await call('GET', '/v1/usage', { key: key.body.key }));
  conforms('revokePlatformKey', await call('DELETE', `/v1/admin/api-keys/${platform.body.id}`));
  conforms('adminInvoices', await call('GET', `/v1/admin/invoices?period=${new Date().toISOString().slice(0, 7)}`));
  conforms('tenantInvoices', await call('GET', `/v1/tenants/${T}/invoices`));

  // Deliveries to the (unreachable) webhook_url exist for the finished jobs.
  const deliveries = await waitFor(
    async () => {
      const r = await call('GET', `/v1/tenants/${T}/webhook-deliveries`, { key: key.body.key });
      return r.body.data.length >= 1 ? r : undefined;
    },
    { what: 'a webhook delivery' },
  );
  conforms('listDeliveries', deliveries);
  conforms('getDelivery', await call('GET', `/v1/tenants/${T}/webhook-deliveries/${deliveries.body.data[0].id}`));
  conforms('redeliverWebhook', await call('POST', `/v1/tenants/${T}/webhook-deliveries/${deliveries.body.data[0].id}/redeliver`));
  conforms('putAutomations', await call('PUT', `/v1/tenants/${T}/automations`, { key: key.body.key, body: { automations: [] } }));

  // Errors: the envelope, with their headers.
  conforms('getJob', await call('GET', `/v1/tenants/${T}/jobs/job_${'0'.repeat(26)}`));
  conforms('listJobs', await call('GET', `/v1/tenants/${T}/jobs`, { key: null }));
  conforms('createJob', await call('POST', `/v1/tenants/${T}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/nope' }] } }));
  conforms(
    'createJob',
    await call('POST', `/v1/tenants/${T}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/list_customers' }], servers: ['stripe'] } }),
  );
  conforms('revokeApiKey', await call('DELETE', `/v1/admin/tenants/${T}/api-keys/${key.body.id}`));
  // The event stream's refusals are JSON errors (its 200 is text/event-stream, see job-events.e2e.test.ts).
  const streamed = `/v1/tenants/${T}/jobs/${ids[0]}/events`;
  conforms('jobEvents', await call('GET', streamed, { headers: { accept: 'application/json' } }));
  conforms('jobEvents', await call('GET', streamed, { headers: { accept: 'text/event-stream', 'last-event-id': 'x' } }));
  conforms('jobEvents', await call('GET', `/v1/tenants/${T}/jobs/job_${'0'.repeat(26)}/events`, { headers: { accept: 'text/event-stream' } }));
  conforms('healthz', await call('GET', '/healthz'));
  conforms('readyz', await call('GET', '/readyz'));
  expect(seen.size).toBeGreaterThanOrEqual(25);
});

test('a rate-limited answer declares Retry-After and the RateLimit headers', async () => {
  expect((await call('POST', '/v1/admin/tenants', { body: { id: 'tenant_oa_slow', servers: ['asaas'], limits: { requests_per_minute: 1 } } })).status).toBe(
    201,
  );
  conforms('listJobs', await call('GET', '/v1/tenants/tenant_oa_slow/jobs'));
  const over = await call('GET', '/v1/tenants/tenant_oa_slow/jobs');
  expect(over.status).toBe(429);
  conforms('listJobs', over);
});

test('the job body is documented as agent | workflow, with the metadata limits', () => {
  const schema = resolve(doc.paths['/v1/tenants/{tid}/jobs'].post.requestBody.content['application/json'].schema);
  const branches = (schema.oneOf as Schema[]).map(resolve);
  expect(branches).toHaveLength(2);
  const [agent, workflow] = branches as [Schema, Schema];
  expect(agent.required).toEqual(expect.arrayContaining(['input']));
  expect(workflow.required).toEqual(expect.arrayContaining(['type', 'steps']));
  const metadata = resolve(agent.properties.metadata);
  expect(metadata).toMatchObject({ maxProperties: 20, propertyNames: { maxLength: 40 }, additionalProperties: { maxLength: 500 } });
});
