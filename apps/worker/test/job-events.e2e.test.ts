/**
 * A job's live event stream (GET /v1/tenants/{tid}/jobs/{job_id}/events) end to end: real API
 * processes, a real worker running agent and workflow jobs against the scripted model and the
 * sandbox, Redis pub/sub between them, the log in Postgres. Frames are read the way CodeSpar's SDK
 * reads them (testkit parseSseFrames: split on "\n\n", lines on "\n").
 */
import type { RedisConnection } from '@agents/queue';
import { Redis } from 'ioredis';
import { createSandboxServer } from '@agents/sandbox';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import type { Config } from '@agents/config';
import type { Logger } from '@agents/observability';
import { silentLogger } from '@agents/observability';
import { jobEventChannel } from '@agents/jobs';
import { isoDateFromNow, openSse, startTestStack, TEST_OPERATOR_KEY, TEST_REDIS_URL, waitFor, openTestRedis } from '@agents/testkit';
import type { ApiCall, SseFrame, TestStack } from '@agents/testkit';
import { startWorker } from '../src/worker';
import { LOJA, LOJA_PIX_INPUT, seedTenants, startTestModel, terminalJob } from './agent-helpers';
import type { TestModel } from './agent-helpers';

jest.setTimeout(60_000);

const KEEP_ALIVE_MS = 100;
const apps = {
  createSandboxServer,
  startApi: (config: Config, logger: Logger, opts: { port: number }) => startApi(config, logger, { ...opts, eventsKeepAliveMs: KEEP_ALIVE_MS }),
  startWorker,
};
let stack: TestStack<typeof apps>;
let model: TestModel;
let call: ApiCall;
let second: ApiServer;
let redis: RedisConnection;

beforeAll(async () => {
  // 100 ms per model turn: a 5-turn job is still running when its first frames are read.
  model = await startTestModel({ latencyMs: 100 });
  stack = await startTestStack(apps, {
    label: 'job_events',
    env: { OPENAI_BASE_URL: model.server.url, OPENAI_API_KEY: 'sk-test-dummy-key-for-the-model-sandbox' },
  });
  call = stack.call;
  await seedTenants(call);
  // A second API process: any process serves any stream.
  second = await startApi(stack.config, silentLogger(), { port: 0, eventsKeepAliveMs: KEEP_ALIVE_MS });
  redis = openTestRedis();
});

afterAll(async () => {
  redis?.disconnect();
  await second?.close();
  await stack?.stop();
  await model?.server.close();
});

const STREAM = { accept: 'text/event-stream', authorization: `Bearer ${TEST_OPERATOR_KEY}` };
const eventsUrl = (base: string, tenant: string, id: string, query = '') => `${base}/v1/tenants/${tenant}/jobs/${id}/events${query}`;
const events = (frames: SseFrame[]) => frames.filter((f) => f.comment === undefined);
const data = (f: SseFrame) => JSON.parse(f.data!) as Record<string, any>;
const TERMINAL = ['job.succeeded', 'job.failed', 'job.cancelled'];

/** Every event frame is exactly `id: <n>\nevent: <type>\ndata: <one JSON line>`, ids 1..N in order. */
function expectWellFormed(frames: SseFrame[]): void {
  const ev = events(frames);
  ev.forEach((f, i) => {
    expect(f.raw).toMatch(/^id: \d+\nevent: [a-z.]+\ndata: [^\n]+$/);
    expect(f.id).toBe(String(i + 1));
  });
  for (const f of frames.filter((x) => x.comment !== undefined)) expect(f.raw).toBe(': keep-alive');
}

async function submit(body: Record<string, unknown>): Promise<string> {
  const r = await call('POST', `/v1/tenants/${LOJA}/jobs`, { body });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

test('an agent job streams queued, started, its turns and tool calls, then succeeded, live, ids 1..N; a reconnect elsewhere gets exactly the rest', async () => {
  // No worker yet: the client is connected before the job can start.
  await stack.worker!.close(1000);
  stack.worker = undefined;
  const id = await submit({ input: LOJA_PIX_INPUT, metadata: { order_id: 'EV-1' } });
  const live = await openSse(eventsUrl(stack.api.url, LOJA, id), STREAM);
  expect(live.status).toBe(200);
  expect(live.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  await live.waitFor((f) => events(f).length === 1);
  // Nothing has run: a keep-alive comes while the job waits.
  await live.waitFor((f) => f.some((x) => x.comment === 'keep-alive'));
  expect(events(live.frames).map((f) => f.event)).toEqual(['job.queued']);

  stack.worker = await startWorker(stack.config, silentLogger());
  await live.ended;
  const frames = live.frames;
  expectWellFormed(frames);
  const ev = events(frames);
  const types = ev.map((f) => f.event);
  expect(types).toEqual([
    'job.queued',
    'job.started',
    'model.turn',
    'tool.call',
    'model.turn',
    'tool.call',
    'model.turn',
    'tool.call',
    'model.turn',
    'tool.call',
    'model.turn',
    'job.succeeded',
  ]);
  const job = (await call('GET', `/v1/tenants/${LOJA}/jobs/${id}`)).body;
  expect(data(ev[0]!)).toEqual({ job_id: id, created_at: job.created_at });
  expect(data(ev[1]!)).toEqual({ job_id: id, attempt: 1, started_at: job.started_at });
  const turns = ev.filter((f) => f.event === 'model.turn').map(data);
  expect(turns.map((t) => t.turn)).toEqual([1, 2, 3, 4, 5]);
  expect(turns[0]!.tool_calls).toEqual([{ id: expect.any(String), name: 'asaas__create_customer', arguments: expect.any(Object) }]);
  expect(turns[4]!.tool_calls).toEqual([]);
  expect(typeof turns[4]!.content).toBe('string');
  for (const t of turns) expect(t.usage.input_tokens).toBeGreaterThan(0);
  // tool.call carries the job object's tool calls, in order, and nothing of their results.
  const calls = ev.filter((f) => f.event === 'tool.call').map(data);
  expect(calls.map((c) => c.tool_call)).toEqual(job.tool_calls);
  expect(calls.every((c) => Object.keys(c.tool_call).sort().join() === 'duration_ms,error,id,server,success,tool')).toBe(true);
  // The terminal frame is the job object, as GET answers it.
  expect(data(ev.at(-1)!)).toEqual(job);
  // Keep-alives appeared while the job waited and between steps.
  expect(frames.filter((f) => f.comment === 'keep-alive').length).toBeGreaterThan(0);

  // Reconnect on the other API process, with Last-Event-ID and with ?after=: exactly k+1..N.
  const k = 4;
  const resumed = await openSse(eventsUrl(second.url, LOJA, id), { ...STREAM, 'last-event-id': String(k) });
  await resumed.ended;
  expect(events(resumed.frames).map((f) => f.raw)).toEqual(ev.slice(k).map((f) => f.raw));
  const after = await openSse(eventsUrl(second.url, LOJA, id, `?after=${k}`), STREAM);
  await after.ended;
  expect(events(after.frames).map((f) => f.raw)).toEqual(ev.slice(k).map((f) => f.raw));
  // The whole log of a finished job, replayed, ends the stream; past its end, nothing and the end.
  const replay = await openSse(eventsUrl(second.url, LOJA, id), STREAM);
  await replay.ended;
  expect(events(replay.frames).map((f) => f.raw)).toEqual(ev.map((f) => f.raw));
  const past = await openSse(eventsUrl(second.url, LOJA, id), { ...STREAM, 'last-event-id': String(ev.length) });
  await past.ended;
  expect(events(past.frames)).toEqual([]);
});

test('a workflow job streams one tool.call per step', async () => {
  const id = await submit({
    type: 'workflow',
    steps: [
      { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725' } },
      { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 50, dueDate: isoDateFromNow(7) } },
    ],
  });
  const s = await openSse(eventsUrl(second.url, LOJA, id), STREAM);
  await s.ended;
  expectWellFormed(s.frames);
  const ev = events(s.frames);
  expect(ev.map((f) => f.event)).toEqual(['job.queued', 'job.started', 'tool.call', 'tool.call', 'job.succeeded']);
  const job = await terminalJob(call, waitFor)(LOJA, id);
  expect(ev.slice(2, 4).map((f) => data(f).tool_call)).toEqual(job.tool_calls);
  expect(ev.slice(2, 4).map((f) => `${data(f).tool_call.server}/${data(f).tool_call.tool}`)).toEqual(['asaas/create_customer', 'asaas/create_payment']);
});

test('an operator retry continues the log after the failed generation; the numbering never changes', async () => {
  const id = await submit({ type: 'workflow', steps: [{ tool: 'asaas/get_payment', args: { id: 'pay_does_not_exist' } }] });
  const first = await openSse(eventsUrl(stack.api.url, LOJA, id), STREAM);
  await first.ended;
  const gen0 = events(first.frames);
  expect(gen0.map((f) => f.event)).toEqual(['job.queued', 'job.started', 'tool.call', 'job.failed']);
  expect(data(gen0[3]!).status).toBe('failed');

  const follow = await openSse(eventsUrl(second.url, LOJA, id), { ...STREAM, 'last-event-id': String(gen0.length) });
  expect((await call('POST', `/v1/tenants/${LOJA}/jobs/${id}/retry`)).status).toBe(202);
  // The stream of a failed job ended at its end; the retry's frames come to a new one.
  await follow.ended;
  await terminalJob(call, waitFor)(LOJA, id);
  const rest = await openSse(eventsUrl(second.url, LOJA, id), { ...STREAM, 'last-event-id': String(gen0.length) });
  await rest.ended;
  const gen1 = events(rest.frames);
  expect(gen1.map((f) => [f.id, f.event])).toEqual([
    ['5', 'job.started'],
    ['6', 'tool.call'],
    ['7', 'job.failed'],
  ]);
  expect(data(gen1[0]!).attempt).toBe(2);
  // The first generation's frames are replayed byte for byte: its failure as its webhook rendered it.
  const whole = await openSse(eventsUrl(stack.api.url, LOJA, id), STREAM);
  await whole.ended;
  expect(events(whole.frames).map((f) => f.raw)).toEqual([...gen0, ...gen1].map((f) => f.raw));
});

test('a queued job cancelled streams job.cancelled as its end', async () => {
  await stack.worker!.close(1000);
  stack.worker = undefined;
  const id = await submit({ input: LOJA_PIX_INPUT });
  const s = await openSse(eventsUrl(stack.api.url, LOJA, id), STREAM);
  await s.waitFor((f) => events(f).length === 1);
  expect((await call('POST', `/v1/tenants/${LOJA}/jobs/${id}/cancel`)).status).toBe(200);
  await s.ended;
  expect(events(s.frames).map((f) => f.event)).toEqual(['job.queued', 'job.cancelled']);
  expect(data(events(s.frames)[1]!).status).toBe('cancelled');
  stack.worker = await startWorker(stack.config, silentLogger());
});

test('a client that goes away leaves no subscription behind', async () => {
  await stack.worker!.close(1000);
  stack.worker = undefined;
  const id = await submit({ input: LOJA_PIX_INPUT });
  const channel = jobEventChannel(stack.prefix, id);
  // On a Cluster a subscription lives on whichever node the subscriber is connected to: count them all.
  const nodes = 'nodes' in redis ? redis.nodes('all') : [redis];
  const subscribers = async () => {
    let n = 0;
    for (const node of nodes) n += ((await node.pubsub('NUMSUB', channel)) as [string, number])[1];
    return n;
  };
  const a = await openSse(eventsUrl(stack.api.url, LOJA, id), STREAM);
  const b = await openSse(eventsUrl(stack.api.url, LOJA, id), STREAM);
  await a.waitFor((f) => events(f).length === 1);
  await b.waitFor((f) => events(f).length === 1);
  // Two streams of one job in one process: one subscription.
  expect(await subscribers()).toBe(1);
  await a.close();
  await b.close();
  await waitFor(async () => (await subscribers()) === 0, { what: 'the job channel to be unsubscribed' });
  expect((await call('POST', `/v1/tenants/${LOJA}/jobs/${id}/cancel`)).status).toBe(200);
  stack.worker = await startWorker(stack.config, silentLogger());
});

test('refusals: another tenant’s key, another environment’s job, an Accept without the stream, a bad Last-Event-ID', async () => {
  const id = await submit({ type: 'workflow', steps: [{ tool: 'asaas/get_balance', args: {} }] });
  const other = await call('POST', '/v1/admin/tenants', { body: { id: 'tenant_other', name: 'other', servers: ['asaas'] } });
  expect(other.status).toBe(201);
  const otherKey = (await call('POST', '/v1/admin/tenants/tenant_other/api-keys', { body: { environment: 'live' } })).body.key as string;
  const testKey = (await call('POST', `/v1/admin/tenants/${LOJA}/api-keys`, { body: { environment: 'test' } })).body.key as string;
  const path = `/v1/tenants/${LOJA}/jobs/${id}/events`;

  const foreign = await call('GET', path, { key: otherKey, headers: { accept: 'text/event-stream' } });
  expect([foreign.status, foreign.body.code]).toEqual([404, 'tenant_not_found']);
  const otherEnv = await call('GET', path, { key: testKey, headers: { accept: 'text/event-stream' } });
  expect([otherEnv.status, otherEnv.body.code]).toEqual([404, 'not_found']);
  const json = await call('GET', path, { headers: { accept: 'application/json' } });
  expect([json.status, json.body.code]).toEqual([406, 'not_acceptable']);
  for (const bad of ['-1', 'abc', '1.5', '\u0000']) {
    const r = await call('GET', path, { headers: { accept: 'text/event-stream', 'last-event-id': encodeURIComponent(bad) } });
    expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
  }
  const badQuery = await call('GET', `${path}?after=%00`, { headers: { accept: 'text/event-stream' } });
  expect([badQuery.status, badQuery.body.code]).toEqual([400, 'validation_failed']);
  // No Accept at all is served as the stream.
  await terminalJob(call, waitFor)(LOJA, id);
  const any = await call('GET', path);
  expect(any.status).toBe(200);
  expect(any.text.endsWith('\n\n')).toBe(true);
  expect(
    any.text
      .split('\n\n')
      .filter(Boolean)
      .map((f) => f.split('\n')[1]),
  ).toEqual(['event: job.queued', 'event: job.started', 'event: tool.call', 'event: job.succeeded']);
  expect(TERMINAL).toContain(any.text.split('\n\n').filter(Boolean).at(-1)!.split('\n')[1]!.slice(7));
});
