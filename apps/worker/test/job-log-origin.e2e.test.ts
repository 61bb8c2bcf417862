/**
 * A job's worker logs name the request that created it: every line of its attempts carries that
 * request's `request_id` and, when the request sent a valid W3C `traceparent`, its `trace_id` and
 * the caller's span as `parent_span_id`. A malformed traceparent is ignored, never an error. The
 * worker's pino output is captured from its destination stream.
 */
import { Writable } from 'node:stream';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import { createLogger } from '@agents/observability';
import { startTestStack, waitFor } from '@agents/testkit';
import type { ApiCall, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';

jest.setTimeout(60_000);

const TENANT = 'tenant_log_origin';
const apps = { createSandboxServer, startApi, startWorker };
let stack: TestStack<typeof apps>;
let call: ApiCall;
const workerLines: Record<string, unknown>[] = [];

const capture = new Writable({
  write(chunk, _enc, cb) {
    for (const l of String(chunk).split('\n').filter(Boolean)) workerLines.push(JSON.parse(l) as Record<string, unknown>);
    cb();
  },
});

beforeAll(async () => {
  const worker = createLogger({ name: 'worker', level: 'debug', destination: capture });
  const api = createLogger({ name: 'api', level: 'silent' });
  stack = await startTestStack(apps, { label: 'logorigin', env: { LOG_LEVEL: 'debug' }, logger: { api, worker } });
  call = stack.call;
  expect((await call('POST', '/v1/admin/tenants', { body: { id: TENANT, servers: ['asaas'] } })).status).toBe(201);
  expect(
    (await call('PUT', `/v1/tenants/${TENANT}/credentials/asaas?environment=live`, { body: { values: { api_key: 'aact_sandbox_log_origin_0001' } } })).status,
  ).toBe(204);
});

afterAll(() => stack?.stop());

async function runJob(headers: Record<string, string>) {
  const r = await call('POST', `/v1/tenants/${TENANT}/jobs`, { body: { type: 'workflow', steps: [{ tool: 'asaas/list_customers', args: {} }] }, headers });
  expect(r.status).toBe(202);
  const requestId = r.headers.get('x-request-id')!;
  const job = await waitFor(
    async () => {
      const g = await call('GET', `/v1/tenants/${TENANT}/jobs/${r.body.id}`);
      return g.body.status === 'succeeded' ? g.body : undefined;
    },
    { what: 'the job to succeed' },
  );
  // The attempt's last line is written just after the terminal state is stored.
  const lines = await waitFor(
    async () => {
      const own = workerLines.filter((l) => l.job_id === job.id);
      return own.some((l) => l.msg === 'job attempt finished') ? own : undefined;
    },
    { what: "the job's log lines" },
  );
  return { requestId, lines };
}

test('with a valid traceparent: every log line of the job carries request_id, trace_id and parent_span_id', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';
  const { requestId, lines } = await runJob({ 'x-request-id': 'req-from-client-0001', traceparent: `00-${traceId}-${spanId}-01` });
  expect(requestId).toBe('req-from-client-0001');
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const l of lines) expect(l).toMatchObject({ request_id: requestId, trace_id: traceId, parent_span_id: spanId, tenant_id: TENANT });
  // Stored on the row, never in the Redis payload (that carries ids only).
  const row = await stack.db
    .selectFrom('jobs')
    .select(['request_id', 'trace_id', 'parent_span_id'])
    .where('tenant_id', '=', TENANT)
    .where('request_id', '=', requestId)
    .executeTakeFirstOrThrow();
  expect(row).toEqual({ request_id: requestId, trace_id: traceId, parent_span_id: spanId });
});

test.each([
  ['all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
  ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
  ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ['garbage', 'not a traceparent'],
  ['too long', `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'x'.repeat(600)}`],
])('a malformed traceparent (%s) is ignored: the job runs, its logs carry the generated request_id and no trace', async (_name, traceparent) => {
  const { requestId, lines } = await runJob({ traceparent });
  expect(requestId).toMatch(/^req_/);
  for (const l of lines) {
    expect(l.request_id).toBe(requestId);
    expect(l).not.toHaveProperty('trace_id');
  }
});
