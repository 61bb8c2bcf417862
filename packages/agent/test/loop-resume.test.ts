/**
 * The agent loop over a real session (runtime → MCP over HTTP → sandbox providers) and the scripted
 * model in process. Checkpoints live in memory here: the loop only sees the LoopCheckpoints
 * interface, and the worker's Postgres implementation is exercised by apps/worker's e2e tests.
 */
import { silentLogger } from '@agents/observability';
import { isoDateFromNow } from '@agents/testkit';
import { createSandboxServer } from '@agents/sandbox';
import type { SandboxServer } from '@agents/sandbox';
import { createCatalog, createRuntime } from '@agents/runtime';
import type { Runtime, Session, ToolResult } from '@agents/runtime';
import { createScriptedModel, isAbortError, MAX_TOOL_CALLS_PER_TURN, runAgentLoop } from '@agents/agent';
import type { AgentLoopOptions, LoopCheckpoints, LoopStep, ModelProvider, ModelRequest, ModelTurn, ToolMessage } from '@agents/agent';

const ACCOUNT = 'loop-test-asaas-account';

/** Customer + balance asked for in one turn (parallel tool calls), then a payment, then an answer. */
const scenario = {
  name: 'parallel',
  match: 'parallel please',
  turns: [
    {
      tool_calls: [
        { name: 'asaas__create_customer', arguments: { name: 'Maria Silva', cpfCnpj: '52998224725' } },
        { name: 'asaas__get_balance', arguments: {} },
      ],
    },
    {
      tool_calls: [
        {
          name: 'asaas__create_payment',
          arguments: { customer: '{{result.asaas__create_customer.id}}', billingType: 'PIX', value: 50, dueDate: isoDateFromNow(7) },
        },
      ],
    },
    { content: 'Payment {{result.asaas__create_payment.id}} for {{result.asaas__create_customer.id}}' },
  ],
};

/** In-memory checkpoints; `failAt` simulates a process that dies right before storing that seq. */
function memoryCheckpoints(failAt?: number) {
  const steps: LoopStep[] = [];
  const results: ToolResult[] = [];
  let fail = failAt;
  const store: LoopCheckpoints & { steps: LoopStep[]; results: ToolResult[] } = {
    steps,
    results,
    async load() {
      return [...steps];
    },
    async saveModelTurn(seq, turn: ModelTurn) {
      if (seq === fail) throw new Error(`crash before storing ${seq}`);
      steps.push({
        seq,
        kind: 'model_turn',
        payload: {
          message: turn.message,
          finish_reason: turn.finishReason,
          usage: { input_tokens: turn.usage.inputTokens, output_tokens: turn.usage.outputTokens },
        },
      });
    },
    async saveToolResult(seq, message: ToolMessage, result) {
      if (seq === fail) {
        fail = undefined; // the next "process" gets further
        throw new Error(`crash before storing ${seq}`);
      }
      steps.push({ seq, kind: 'tool_call', payload: message });
      if (result) results.push(result);
    },
  };
  return store;
}

/** Counts requests: what a resumed run asks the model again. */
function counting(model: ModelProvider) {
  const requests: ModelRequest[] = [];
  return {
    requests,
    model: { id: model.id, complete: (req: ModelRequest, o?: { signal?: AbortSignal }) => (requests.push(req), model.complete(req, o)) } as ModelProvider,
  };
}

let sandbox: SandboxServer;
let runtime: Runtime;
let session: Session;

beforeAll(async () => {
  sandbox = await createSandboxServer({ port: 0, logger: silentLogger() });
  runtime = createRuntime({
    catalog: createCatalog({ sandboxUrl: sandbox.url, includeStripeOfficial: false }),
    credentials: { get: async (_t, server) => (server === 'asaas' ? { values: { api_key: ACCOUNT }, version: '1' } : null) },
    logger: silentLogger(),
    sweepIntervalMs: 0,
  });
});
beforeEach(() => {
  session = runtime.sessions.create({ tenantId: 't_loop', environment: 'test', servers: ['asaas'], metadata: {} });
});
afterEach(async () => {
  await session.close();
});
afterAll(async () => {
  await runtime.close();
  await sandbox.close();
});

const objects = async () =>
  (
    (await (await fetch(`${sandbox.url}/sandbox/asaas/objects`, { headers: { 'x-sandbox-account': ACCOUNT } })).json()) as {
      data: Array<{ id: string; object: string; idempotency_key: string | null }>;
    }
  ).data;

function options(job: string, over: Partial<AgentLoopOptions>): AgentLoopOptions {
  return {
    model: createScriptedModel({ scenarios: [scenario] }),
    modelName: 'scripted',
    session,
    systemPrompt: 'You are a test assistant.',
    input: 'parallel please',
    maxIterations: 10,
    checkpoints: memoryCheckpoints(),
    idempotencyKey: (seq) => `${job}:${seq}`,
    ...over,
  };
}

test('parallel tool calls run and are answered in order; steps get deterministic seqs', async () => {
  const checkpoints = memoryCheckpoints();
  const res = await runAgentLoop(options('job_par', { checkpoints }));
  expect(res.ok).toBe(true);
  if (!res.ok) return;
  expect(res.iterations).toBe(3);
  expect(res.message).toMatch(/^Payment pay_\d+ for cus_\d+$/);
  expect(checkpoints.steps.map((s) => `${s.seq}:${s.kind}`)).toEqual([
    '0:model_turn',
    '1:tool_call',
    '2:tool_call',
    '3:model_turn',
    '4:tool_call',
    '5:model_turn',
  ]);
  const [turn0, answer1, answer2] = checkpoints.steps;
  const ids = (turn0!.payload as { message: { tool_calls: Array<{ id: string }> } }).message.tool_calls.map((c) => c.id);
  expect([(answer1!.payload as ToolMessage).tool_call_id, (answer2!.payload as ToolMessage).tool_call_id]).toEqual(ids);
  expect(checkpoints.results.map((r) => r.tool)).toEqual(['create_customer', 'get_balance', 'create_payment']);
  expect(res.usage.input_tokens).toBeGreaterThan(0);
  const mine = (await objects()).filter((o) => o.idempotency_key?.startsWith('job_par:'));
  expect(mine.map((o) => `${o.object}:${o.idempotency_key}`)).toEqual(['customer:job_par:1', 'payment:job_par:4']);
});

test('a run that died after a tool call but before its checkpoint re-sends it with the same key; nothing is created twice', async () => {
  // seq 4 (create_payment) executes, then the "process" dies before storing it.
  const checkpoints = memoryCheckpoints(4);
  await expect(runAgentLoop(options('job_crash', { checkpoints }))).rejects.toThrow('crash before storing 4');
  expect(checkpoints.steps.map((s) => s.seq)).toEqual([0, 1, 2, 3]);

  const { model, requests } = counting(createScriptedModel({ scenarios: [scenario] }));
  const res = await runAgentLoop(options('job_crash', { checkpoints, model }));
  expect(res.ok).toBe(true);
  // The stored turn 3 was not asked again: only the final turn needed the model.
  expect(requests).toHaveLength(1);
  // Its history is exactly what the first run had built: system, user, turn, 2 answers, turn, answer.
  expect(requests[0]!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool', 'assistant', 'tool']);
  const mine = (await objects()).filter((o) => o.idempotency_key?.startsWith('job_crash:'));
  expect(mine.map((o) => `${o.object}:${o.idempotency_key}`)).toEqual(['customer:job_crash:1', 'payment:job_crash:4']);
  // The completed calls were not executed again (only seq 4 ran in the second run).
  expect(checkpoints.results.map((r) => r.tool)).toEqual(['create_customer', 'get_balance', 'create_payment']);
});

test('a resumed run over a finished conversation returns its answer without calling anything', async () => {
  const checkpoints = memoryCheckpoints();
  const first = await runAgentLoop(options('job_done', { checkpoints }));
  const { model, requests } = counting(createScriptedModel({ scenarios: [scenario] }));
  const again = await runAgentLoop(options('job_done', { checkpoints, model }));
  expect(again).toEqual(first);
  expect(requests).toHaveLength(0);
});

test('max_iterations: a turn that still asks for tools at the limit ends the run without running them', async () => {
  const checkpoints = memoryCheckpoints();
  const res = await runAgentLoop(options('job_max', { checkpoints, maxIterations: 1 }));
  expect(res).toMatchObject({ ok: false, error: { code: 'max_iterations' }, iterations: 1 });
  expect(checkpoints.steps.map((s) => s.kind)).toEqual(['model_turn']);
});

test('the token budget stops a run that spent it', async () => {
  const checkpoints = memoryCheckpoints();
  const res = await runAgentLoop(options('job_budget', { checkpoints, tokenBudget: 10 }));
  expect(res).toMatchObject({ ok: false, error: { code: 'token_budget_exceeded' }, iterations: 1 });
  expect(checkpoints.results).toHaveLength(0);
});

test('an aborted signal stops the run before the next call and stores nothing', async () => {
  const checkpoints = memoryCheckpoints();
  const ac = new AbortController();
  ac.abort();
  const err = await runAgentLoop(options('job_abort', { checkpoints, signal: ac.signal })).catch((e: unknown) => e);
  expect(isAbortError(err)).toBe(true);
  expect(checkpoints.steps).toHaveLength(0);
});

test('beforeStep runs before every model and tool call and can stop the run', async () => {
  const checkpoints = memoryCheckpoints();
  let n = 0;
  const stop = new Error('cancelled');
  await expect(
    runAgentLoop(
      options('job_before', {
        checkpoints,
        beforeStep: () => {
          if (++n === 3) throw stop;
        },
      }),
    ),
  ).rejects.toBe(stop);
  // model turn (1), first tool (2), stopped before the second tool (3).
  expect(checkpoints.steps.map((s) => s.seq)).toEqual([0, 1]);
});

test('a turn asking for more tool calls than MAX_TOOL_CALLS_PER_TURN runs only that many; the rest are answered "not run"', async () => {
  const asked = MAX_TOOL_CALLS_PER_TURN + 4;
  const burst = {
    name: 'burst',
    match: 'burst please',
    turns: [{ tool_calls: Array.from({ length: asked }, () => ({ name: 'asaas__get_balance', arguments: {} })) }, { content: 'done' }],
  };
  const checkpoints = memoryCheckpoints();
  const res = await runAgentLoop(options('job_burst', { checkpoints, model: createScriptedModel({ scenarios: [burst] }), input: 'burst please' }));
  expect(res.ok).toBe(true);
  // Every call is answered (the model needs one message per call id); only the first ones ran.
  const answers = checkpoints.steps.filter((s) => s.kind === 'tool_call').map((s) => JSON.parse((s.payload as ToolMessage).content as string));
  expect(answers).toHaveLength(asked);
  expect(checkpoints.results).toHaveLength(MAX_TOOL_CALLS_PER_TURN);
  expect(answers.slice(MAX_TOOL_CALLS_PER_TURN).every((a) => a.error_code === 'too_many_tool_calls')).toBe(true);
  expect(answers.slice(0, MAX_TOOL_CALLS_PER_TURN).every((a) => a.success === true)).toBe(true);
});
