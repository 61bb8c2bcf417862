/**
 * A job that kills its worker every time (issue 11), end to end: real API, Postgres, Redis, sandbox
 * and real worker processes. Each time the job is running, mid-way through its agent loop, the
 * worker process holding it is killed with SIGKILL and a replacement takes over. BullMQ's stalled
 * check recovers the job twice; the third stall hands it over as a deferred failure and the job
 * processor fails it for good (`internal`) instead of running it a fourth time. Meanwhile the same
 * tenant and another tenant keep submitting jobs, and all of them succeed; nothing is metered twice.
 *
 * No crash backdoor in product code: the crash is a real SIGKILL, timed by the test double at the
 * model boundary, which holds the job's model call open (so the job is provably running, mid-loop,
 * with a tool call completed in this run) until the test has killed the worker.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { createAbortError, createScriptedModel, loadScenarios } from '@agents/agent';
import type { ModelProvider } from '@agents/agent';
import { createModelServer } from '@agents/model-sandbox';
import type { ModelServer } from '@agents/model-sandbox';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { tenantBullPrefix, tenantQueueName } from '@agents/queue';
import type { RedisConnection } from '@agents/queue';
import { createSandboxServer } from '@agents/sandbox';
import { apiClient, createTestDatabase, flushPrefix, openTestRedis, testRedisPrefix, waitFor } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';
import { ACME, ACME_CARD_INPUT, CREDENTIALS, LOJA, LOJA_PIX_INPUT, sandboxObjects, seedTenants, terminalJob } from './agent-helpers';
import { alive, crashTestWorkerEnv, stopProcess, workerProcesses } from './worker-processes';

jest.setTimeout(120_000);

/** Still matches the Pix scenario; lets the model double tell the crashing job from the others. */
const CRASH_INPUT = `${LOJA_PIX_INPUT} (order CRASH-LOOP)`;
const CRASH_MARK = 'CRASH-LOOP';

/**
 * The scripted model over HTTP, with one twist for the crashing job: in its k-th run it answers the
 * turn the previous run never got an answer for, then holds the next request open until the caller
 * goes away (the killed worker's socket closes). So run k makes exactly one new tool call and
 * is then killed mid-loop: run 1 creates the customer, run 2 the payment, run 3 the Pix QR code.
 */
interface CrashModel {
  server: ModelServer;
  /** The crashing job's model requests, by turn index (assistant messages so far), in arrival order. */
  crashTurns: Array<{ turn: number; held: boolean }>;
  /** Requests of the crashing job being held open right now. */
  holding(): number;
  /** Requests held so far: the runs that got as far as their held turn. */
  held(): number;
}

async function startCrashModel(): Promise<CrashModel> {
  const scripted = createScriptedModel({ scenarios: loadScenarios() });
  const crashTurns: CrashModel['crashTurns'] = [];
  let held = 0;
  let holding = 0;
  const model: ModelProvider = {
    id: scripted.id,
    async complete(req, callOpts) {
      const first = req.messages.find((m) => m.role === 'user');
      const isCrashJob = typeof first?.content === 'string' && first.content.includes(CRASH_MARK);
      if (isCrashJob) {
        const turn = req.messages.filter((m) => m.role === 'assistant').length;
        // Run k (k = held + 1) holds turn k: turn 0 answers in run 1, turn k-1 was answered in run k.
        const hold = turn === held + 1;
        crashTurns.push({ turn, held: hold });
        if (hold) {
          held++;
          holding++;
          const signal = callOpts?.signal;
          try {
            await new Promise<never>((_resolve, reject) => {
              if (!signal) return; // never answered; the test closes the server at the end
              if (signal.aborted) reject(createAbortError());
              signal.addEventListener('abort', () => reject(createAbortError()), { once: true });
            });
          } finally {
            holding--;
          }
        }
      }
      return scripted.complete(req, callOpts);
    },
  };
  const server = await createModelServer({ model, logger: silentLogger() });
  return { server, crashTurns, holding: () => holding, held: () => held };
}

let tdb: TestDatabase;
let prefix: string;
let sandbox: Awaited<ReturnType<typeof createSandboxServer>>;
let model: CrashModel;
let api: ApiServer;
let queue: Queue;
/** The queue's connection (a Redis or a Cluster, as TEST_REDIS_URL says); a Queue never closes a connection it was given. */
let queueRedis: RedisConnection | undefined;
/** The tenant's callback endpoint (a test double at the process boundary): every body it was sent. */
let receiver: Server;
let receiverUrl: string;
const callbacks: Array<{ type: string; data: any }> = [];
let env: Record<string, string>;
const workers = workerProcesses();

beforeAll(async () => {
  tdb = await createTestDatabase('crashjob');
  prefix = testRedisPrefix();
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
  model = await startCrashModel();
  const worker = crashTestWorkerEnv({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url }, model.server.url, { LOG_LEVEL: 'warn' });
  env = worker.env;
  api = await startApi(worker.config, silentLogger(), { port: 0 });
  await seedTenants(apiClient(api.url));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      callbacks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/agent-callback`;
  queueRedis = openTestRedis({ maxRetriesPerRequest: null });
  queue = new Queue(tenantQueueName(LOJA), { connection: queueRedis, prefix: tenantBullPrefix(prefix, LOJA) });
});

afterAll(async () => {
  await workers.killAll();
  await queue?.close();
  queueRedis?.disconnect();
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
  await api?.close();
  await model?.server.close();
  await sandbox?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('a job that kills its worker each run fails for good after the third stall; other jobs of both tenants succeed and nothing is billed twice', async () => {
  const call = apiClient(api.url);
  const finished = terminalJob(call, waitFor);
  // The crashing tenant works with its own live key, as a tenant would; the other uses the operator's.
  const issued = await call('POST', `/v1/admin/tenants/${LOJA}/api-keys`, { body: { environment: 'live' } });
  expect(issued.status).toBe(201);
  const lojaKey = issued.body.key as string;
  const submit = async (tenant: string, input: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const r = await call('POST', `/v1/tenants/${tenant}/jobs`, { body: { input, ...extra }, ...(tenant === LOJA ? { key: lojaKey } : {}) });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };
  const others: Array<{ tenant: string; id: string }> = [];
  const submitOthers = async () => {
    for (const [tenant, input] of [
      [LOJA, LOJA_PIX_INPUT],
      [ACME, ACME_CARD_INPUT],
    ] as const)
      others.push({ tenant, id: await submit(tenant, input) });
  };
  const allOthersSucceeded = async () => {
    for (const o of others) expect((await finished(o.tenant, o.id, 60_000)).status).toBe('succeeded');
  };
  const crashRow = () => tdb.db.selectFrom('jobs').select(['status', 'attempts']).where('id', '=', crashId).executeTakeFirstOrThrow();

  let holder = workers.spawn(env);
  const crashId = await submit(LOJA, CRASH_INPUT, { callback_url: receiverUrl });

  for (let run = 1; run <= 3; run++) {
    // The job is running in `holder` (the only worker alive), held mid-loop at its model call.
    await waitFor(() => model.held() === run && model.holding() === 1, { what: `run ${run} of the crashing job to be mid-loop`, timeoutMs: 45_000 });
    expect(workers.all.filter(alive)).toEqual([holder]);
    expect(await crashRow()).toEqual({ status: 'running', attempts: run });
    // Work submitted while it runs: a replacement worker starts, and both tenants' jobs finish
    // before the kill, so the only job the SIGKILL interrupts is the crashing one.
    const replacement = workers.spawn(env);
    await submitOthers();
    await allOthersSucceeded();
    await stopProcess(holder, 'SIGKILL');
    holder = replacement;
    // Accepted while the job waits for the stalled check: must not be lost or delayed for good.
    await submitOthers();
  }

  // Third stall: the replacement gets the job as a deferred failure and fails it without running it.
  // A fourth run would ask the model for turn 3 again (a 7th request): stop waiting at once then.
  await waitFor(async () => model.crashTurns.length > 6 || ['failed', 'succeeded', 'cancelled'].includes((await crashRow()).status), {
    what: 'the crashing job to be failed (or run a fourth time)',
    timeoutMs: 45_000,
  });
  expect(model.crashTurns).toHaveLength(6);
  const got = await call('GET', `/v1/tenants/${LOJA}/jobs/${crashId}`, { key: lojaKey });
  expect(got.status).toBe(200);
  const job = got.body;
  expect(job.status).toBe('failed');
  expect(job.error).toEqual({ code: 'internal', message: expect.stringMatching(/interrupted repeatedly/) });
  expect(job.attempts).toBe(3);
  expect(job.output).toBeNull();
  expect(job.finished_at).toEqual(expect.any(String));
  // One new tool call per run, each once, though every run was cut off.
  expect(job.tool_calls.map((c: any) => `${c.server}/${c.tool}:${c.success}`)).toEqual([
    'asaas/create_customer:true',
    'asaas/create_payment:true',
    'asaas/get_pix_qrcode:true',
  ]);
  expect(job.usage.tool_calls).toBe(3);
  // The queue entry is failed too (the row is written first, then the processor's throw fails the
  // entry), with BullMQ's reason, so no stalled check or fetch can hand it out again.
  const bullJob = await waitFor(
    async () => {
      // Read again once failed: an entry read just before the failure was recorded lacks its reason.
      return (await queue.getJobState(crashId)) === 'failed' ? queue.getJob(crashId) : undefined;
    },
    { what: 'the queue entry of the crashing job to be failed' },
  );
  // The entry's reason is the job's error (the row is the truth), not BullMQ's stall message.
  expect(bullJob.failedReason).toBe('internal: The job was interrupted repeatedly while running (its worker stopped each time); it was not run again.');
  expect(bullJob.stalledCounter).toBe(3);

  // Each run resumed from the checkpoint of the one before: run k re-asked only the turn run k-1
  // never got answered, then was held at the next one and killed.
  expect(model.crashTurns).toEqual([
    { turn: 0, held: false },
    { turn: 1, held: true },
    { turn: 1, held: false },
    { turn: 2, held: true },
    { turn: 2, held: false },
    { turn: 3, held: true },
  ]);

  // Everything the tenants submitted meanwhile succeeded, and so does work after the failure
  // (the worker that failed the job is healthy), without the crashing job being run again.
  await submitOthers();
  await allOthersSucceeded();
  expect(model.crashTurns).toHaveLength(6);
  expect(await crashRow()).toEqual({ status: 'failed', attempts: 3 });
  expect(alive(holder)).toBe(true);

  // The tenant was told once, by a job.failed callback carrying the same job.
  const told = await waitFor(() => callbacks.find((c) => c.data?.id === crashId), { what: 'the job.failed callback' });
  expect(told.type).toBe('job.failed');
  expect(told.data).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'internal' } });
  expect(callbacks.filter((c) => c.data?.id === crashId)).toHaveLength(1);

  // Metering: one usage row per executed tool call and per answered model turn, never two.
  const usage = await tdb.db.selectFrom('usage_events').select(['job_id', 'kind', 'idempotency_key']).execute();
  const crashUsage = usage.filter((u) => u.job_id === crashId);
  expect(
    crashUsage
      .filter((u) => u.kind === 'tool_call')
      .map((u) => u.idempotency_key)
      .sort(),
  ).toEqual([1, 3, 5].map((s) => `${crashId}:${s}`).sort());
  expect(
    crashUsage
      .filter((u) => u.kind === 'model_turn')
      .map((u) => u.idempotency_key)
      .sort(),
  ).toEqual([0, 2, 4].map((s) => `${crashId}:${s}`).sort());
  for (const o of others) {
    const rows = usage.filter((u) => u.job_id === o.id && u.kind === 'tool_call');
    const expected = o.tenant === LOJA ? 4 : 5;
    expect({ job: o.id, tool_calls: rows.length, distinct: new Set(rows.map((r) => r.idempotency_key)).size }).toEqual({
      job: o.id,
      tool_calls: expected,
      distinct: expected,
    });
  }

  // The provider saw the crashing job's customer and payment once each, and no WhatsApp message.
  const asaas = await sandboxObjects(sandbox.url, 'asaas', CREDENTIALS[LOJA]!.asaas!.api_key!);
  expect(asaas.filter((o) => o.idempotency_key?.startsWith(`${crashId}:`)).map((o) => `${o.object}:${o.idempotency_key}`)).toEqual([
    `customer:${crashId}:1`,
    `payment:${crashId}:3`,
  ]);
  const zapi = await sandboxObjects(sandbox.url, 'z-api', CREDENTIALS[LOJA]!['z-api']!.instance_id!);
  expect(zapi.filter((o) => o.idempotency_key?.startsWith(`${crashId}:`))).toEqual([]);

  await stopProcess(holder, 'SIGTERM');
});
