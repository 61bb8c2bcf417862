/**
 * Crash safety: a real worker process running a multi-step agent job is killed with SIGKILL after
 * at least one tool call; a second worker process picks the job up (BullMQ stalled-job recovery),
 * resumes from its checkpoints and finishes it. Each side effect happens once at the provider and
 * is metered once.
 */
import { apiClient, openSse, TEST_OPERATOR_KEY, waitFor } from '@agents/testkit';
import { CREDENTIALS, LOJA, LOJA_PIX_INPUT, sandboxObjects, terminalJob } from './agent-helpers';
import { startCrashRig, stopProcess } from './worker-processes';
import type { CrashRig } from './worker-processes';

jest.setTimeout(90_000);

let rig: CrashRig;

beforeAll(async () => {
  // 250 ms per model turn: the 5-turn job runs for over a second, long enough to be killed mid-way.
  rig = await startCrashRig('crash', { modelLatencyMs: 250, workerEnv: { MODEL_LATENCY_MS: '0' } });
});

afterAll(async () => {
  await rig?.close();
});

test('a worker killed mid-job is replaced; the job resumes from its checkpoint and each side effect happens once', async () => {
  const call = apiClient(rig.api.url);
  const first = rig.workers.spawn(rig.env);
  const r = await call('POST', `/v1/tenants/${LOJA}/jobs`, { body: { input: LOJA_PIX_INPUT, metadata: { order_id: 'CRASH-1' } } });
  expect(r.status).toBe(202);
  const id = r.body.id as string;
  // A client follows the job live through the crash: its log must have no duplicate and no gap.
  const stream = await openSse(`${rig.api.url}/v1/tenants/${LOJA}/jobs/${id}/events`, {
    accept: 'text/event-stream',
    authorization: `Bearer ${TEST_OPERATOR_KEY}`,
  });
  const toolSteps = () => rig.tdb.db.selectFrom('job_steps').select('seq').where('job_id', '=', id).where('kind', '=', 'tool_call').execute();

  await waitFor(async () => (await toolSteps()).length >= 1, { what: 'a first checkpointed tool call', timeoutMs: 30_000 });
  await stopProcess(first, 'SIGKILL');
  const before = (await toolSteps()).length;
  expect(before).toBeLessThan(4); // killed mid-job, not after it

  const second = rig.workers.spawn(rig.env);
  const job = await terminalJob(call, waitFor)(LOJA, id, 60_000);
  expect(job.status).toBe('succeeded');
  expect(job.attempts).toBe(2);
  expect(job.tool_calls.map((c: any) => `${c.server}/${c.tool}`)).toEqual([
    'asaas/create_customer',
    'asaas/create_payment',
    'asaas/get_pix_qrcode',
    'z-api/send_text',
  ]);
  expect(job.output.message).toMatch(/Pix charge pay_\d+ of R\$50\.00/);

  // The provider saw exactly one customer, one payment and one message.
  const asaas = await sandboxObjects(rig.sandbox.url, 'asaas', CREDENTIALS[LOJA]!.asaas!.api_key!);
  expect(asaas.map((o) => `${o.object}:${o.idempotency_key}`)).toEqual([`customer:${id}:1`, `payment:${id}:3`]);
  const zapi = await sandboxObjects(rig.sandbox.url, 'z-api', CREDENTIALS[LOJA]!['z-api']!.instance_id!);
  expect(zapi.map((o) => o.idempotency_key)).toEqual([`${id}:7`]);

  // Metering: one row per executed tool call and per model turn, one per checkpoint.
  const usage = await rig.tdb.db.selectFrom('usage_events').selectAll().where('job_id', '=', id).execute();
  const toolRows = usage.filter((u) => u.kind === 'tool_call');
  expect(toolRows.map((u) => u.idempotency_key).sort()).toEqual([1, 3, 5, 7].map((s) => `${id}:${s}`).sort());
  expect(usage.filter((u) => u.kind === 'model_turn')).toHaveLength(5);
  const steps = await rig.tdb.db.selectFrom('job_steps').select(['seq', 'kind']).where('job_id', '=', id).orderBy('seq').execute();
  expect(steps.map((s) => s.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);

  // The event stream: ids 1..N, each turn and call once, both starts, the success last.
  await stream.ended;
  const events = stream.frames.filter((f) => f.comment === undefined);
  expect(events.map((f) => f.id)).toEqual(events.map((_, i) => String(i + 1)));
  const types = events.map((f) => f.event);
  expect(types.filter((t) => t === 'model.turn')).toHaveLength(5);
  expect(types.filter((t) => t === 'tool.call')).toHaveLength(4);
  const started = events.filter((f) => f.event === 'job.started').map((f) => JSON.parse(f.data!).attempt);
  expect(started).toEqual([1, 2]);
  expect(types[0]).toBe('job.queued');
  expect(types.at(-1)).toBe('job.succeeded');
  expect(types.filter((t) => t?.startsWith('job.'))).toEqual(['job.queued', 'job.started', 'job.started', 'job.succeeded']);
  // The second start comes after the steps the first attempt stored, before the ones it resumed with.
  const restart = await rig.tdb.db.selectFrom('job_attempts').select('after_seq').where('job_id', '=', id).where('attempt', '=', 2).executeTakeFirstOrThrow();
  expect(restart.after_seq).toBeGreaterThanOrEqual(before);
  expect(types.indexOf('job.started', 2)).toBe(2 + restart.after_seq + 1);
  const callIds = events.filter((f) => f.event === 'tool.call').map((f) => JSON.parse(f.data!).tool_call.id);
  expect(callIds).toEqual(job.tool_calls.map((c: any) => c.id));
  // Read again from scratch, the log is the same frames.
  const replay = await openSse(`${rig.api.url}/v1/tenants/${LOJA}/jobs/${id}/events`, {
    accept: 'text/event-stream',
    authorization: `Bearer ${TEST_OPERATOR_KEY}`,
  });
  await replay.ended;
  expect(replay.frames.filter((f) => f.comment === undefined).map((f) => f.raw)).toEqual(events.map((f) => f.raw));

  await stopProcess(second, 'SIGTERM');
});
