import { isModelError, loadScenarios } from '@agents/agent';
import type { ChatMessage, ModelProvider, ModelTurn, Scenario, ToolDefinition } from '@agents/agent';

/**
 * The contract every ModelProvider in this repo must meet, run against the scripted model in
 * process and against the `openai` provider talking to the model-sandbox over HTTP. Both are fed
 * the same scenarios and clock, so both must produce the same turns.
 */
export interface ContractSubject {
  provider: ModelProvider;
  close?: () => Promise<void>;
}

export interface ContractSetup {
  scenarios: Scenario[];
  /** Clock for `{{today}}` templates: fixed, so expectations are exact. */
  now: () => Date;
}

export type ContractFactory = (setup: ContractSetup) => Promise<ContractSubject>;

export const CONTRACT_NOW = new Date('2026-11-28T07:00:00.000Z');
export const CONTRACT_MODEL = 'gpt-4o-mini';

/** Scenarios only the contract uses, ahead of the shipped fixtures. */
export const CONTRACT_SCENARIOS: Scenario[] = [
  {
    name: 'contract-probe',
    match: '/contract\\s+probe/',
    turns: [
      {
        tool_calls: [
          { name: 'probe__lookup', arguments: { q: 'x', n: 2, due: '{{today+3}}', nested: { list: [1, '{{today}}'] } } },
          { name: 'probe__other', arguments: {} },
        ],
      },
      {
        tool_calls: [
          { name: 'probe__use', arguments: { id: '{{result.probe__lookup.id}}', whole: '{{result.probe__lookup}}', missing: '{{result.probe__nope.id}}' } },
        ],
      },
      { content: 'Found {{result.probe__lookup.id}}; raw {{result.probe__other}}; missing {{result.probe__nope.id}}' },
    ],
  },
  {
    name: 'contract-long-answer',
    match: 'contract long answer',
    turns: [{ content: 'x'.repeat(400) }],
  },
];

export const PROBE_TOOLS: ToolDefinition[] = [
  { type: 'function', function: { name: 'probe__lookup', description: 'Look up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
  { type: 'function', function: { name: 'probe__other', parameters: { type: 'object', properties: {} } } },
];

/** Plausible sandbox results for the demo scenarios' tools (the model only sees what we return). */
export function fakeToolResult(name: string, args: Record<string, unknown>): unknown {
  switch (name) {
    case 'asaas__create_customer':
      return { object: 'customer', id: 'cus_000001', name: args.name };
    case 'asaas__create_payment':
      return {
        object: 'payment',
        id: 'pay_000001',
        status: 'PENDING',
        value: args.value,
        dueDate: args.dueDate,
        invoiceUrl: 'https://sandbox.asaas.com/i/pay_000001',
      };
    case 'asaas__get_pix_qrcode':
      return { encodedImage: 'iVBORw0KGgo=', payload: '00020126580014br.gov.bcb.pix0136demo6304ABCD', expirationDate: '2026-12-01 23:59:59' };
    case 'z-api__send_text':
      return { zaapId: 'zaap_1', messageId: 'msg_0001', id: 'msg_0001' };
    case 'stripe__create_customer':
      return { id: 'cus_S1', object: 'customer' };
    case 'stripe__create_payment_intent':
      return { id: 'pi_000001', object: 'payment_intent', status: 'requires_payment_method', amount: args.amount };
    case 'stripe__confirm_payment_intent':
      return { id: args.id, object: 'payment_intent', status: 'succeeded' };
    case 'correios__calculate_shipping':
      return [
        { coProduto: '03220', pcFinal: '25,90' },
        { coProduto: '03298', pcFinal: '18,40' },
      ];
    case 'nuvem-fiscal__create_nfe':
      return { id: 'nfe_000001', status: 'autorizado', chave: '35261111222333000181550010000000011000000010' };
    default:
      return { ok: true };
  }
}

export interface DriveResult {
  calls: { name: string; args: Record<string, unknown>; id: string }[];
  final: ModelTurn;
  messages: ChatMessage[];
}

/** Plays the agent loop's part: answers every tool call with `toolResult` until a final message. */
export async function driveConversation(
  provider: ModelProvider,
  userText: string,
  toolResult: (name: string, args: Record<string, unknown>) => unknown = fakeToolResult,
  maxTurns = 12,
): Promise<DriveResult> {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are the commerce assistant.' },
    { role: 'user', content: userText },
  ];
  const calls: DriveResult['calls'] = [];
  for (let i = 0; i < maxTurns; i++) {
    const turn = await provider.complete({ model: CONTRACT_MODEL, messages });
    messages.push(turn.message);
    if (!turn.message.tool_calls || turn.message.tool_calls.length === 0) return { calls, final: turn, messages };
    for (const tc of turn.message.tool_calls) {
      const args = JSON.parse(tc.function.arguments) as Record<string, unknown>;
      calls.push({ name: tc.function.name, args, id: tc.id });
      messages.push({ role: 'tool', tool_call_id: tc.id, content: JSON.stringify(toolResult(tc.function.name, args)) });
    }
  }
  throw new Error(`conversation did not finish within ${maxTurns} turns`);
}

export function describeModelProviderContract(name: string, factory: ContractFactory): void {
  describe(`ModelProvider contract: ${name}`, () => {
    let subject: ContractSubject;
    let provider: ModelProvider;

    beforeAll(async () => {
      subject = await factory({ scenarios: [...CONTRACT_SCENARIOS, ...loadScenarios()], now: () => CONTRACT_NOW });
      provider = subject.provider;
    });
    afterAll(async () => {
      await subject?.close?.();
    });

    const probe = (extra: ChatMessage[] = []): ChatMessage[] => [
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'Contract  probe please' },
      ...extra,
    ];

    it('has a stable id', () => {
      expect(typeof provider.id).toBe('string');
      expect(provider.id.length).toBeGreaterThan(0);
    });

    it('returns tool calls with deterministic ids and JSON-encoded, template-rendered arguments', async () => {
      const turn = await provider.complete({ model: CONTRACT_MODEL, messages: probe(), tools: PROBE_TOOLS });
      expect(turn.finishReason).toBe('tool_calls');
      expect(turn.message.role).toBe('assistant');
      expect(turn.message.content).toBeNull();
      const calls = turn.message.tool_calls ?? [];
      expect(calls.map((c) => [c.id, c.type, c.function.name])).toEqual([
        ['call_0_0', 'function', 'probe__lookup'],
        ['call_0_1', 'function', 'probe__other'],
      ]);
      expect(JSON.parse(calls[0]!.function.arguments)).toEqual({ q: 'x', n: 2, due: '2026-12-01', nested: { list: [1, '2026-11-28'] } });
      expect(JSON.parse(calls[1]!.function.arguments)).toEqual({});
    });

    it('resolves earlier tool results: typed whole values, fields, null when missing', async () => {
      const messages = probe([
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_0_0', type: 'function', function: { name: 'probe__lookup', arguments: '{}' } },
            { id: 'call_0_1', type: 'function', function: { name: 'probe__other', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_0_0', content: JSON.stringify({ id: 'obj_42', amount: 5 }) },
        { role: 'tool', tool_call_id: 'call_0_1', content: 'plain text result' },
      ]);
      const turn = await provider.complete({ model: CONTRACT_MODEL, messages });
      expect(turn.message.tool_calls?.[0]?.id).toBe('call_1_0');
      expect(JSON.parse(turn.message.tool_calls![0]!.function.arguments)).toEqual({
        id: 'obj_42',
        whole: { id: 'obj_42', amount: 5 },
        missing: null,
      });

      const final = await provider.complete({
        model: CONTRACT_MODEL,
        messages: [...messages, turn.message, { role: 'tool', tool_call_id: 'call_1_0', content: '{"ok":true}' }],
      });
      expect(final.finishReason).toBe('stop');
      expect(final.message.tool_calls ?? []).toEqual([]);
      expect(final.message.content).toBe('Found obj_42; raw plain text result; missing (unknown)');
    });

    it('reports deterministic, positive token usage that grows with the prompt', async () => {
      const a = await provider.complete({ model: CONTRACT_MODEL, messages: probe() });
      const b = await provider.complete({ model: CONTRACT_MODEL, messages: probe() });
      expect(a.usage).toEqual(b.usage);
      expect(a.usage.inputTokens).toBeGreaterThan(0);
      expect(a.usage.outputTokens).toBeGreaterThan(0);
      const bigger = await provider.complete({ model: CONTRACT_MODEL, messages: probe(), tools: PROBE_TOOLS });
      expect(bigger.usage.inputTokens).toBeGreaterThan(a.usage.inputTokens);
      for (const n of [a.usage.inputTokens, a.usage.outputTokens]) expect(Number.isInteger(n)).toBe(true);
    });

    it('answers a clear final message when no scenario matches', async () => {
      const turn = await provider.complete({
        model: CONTRACT_MODEL,
        messages: [{ role: 'user', content: 'What is the meaning of life?' }],
      });
      expect(turn.finishReason).toBe('stop');
      expect(turn.message.tool_calls ?? []).toEqual([]);
      expect(turn.message.content).toContain('No scripted scenario matched');
      expect(turn.message.content).toContain('packages/agent/fixtures/scenarios');
      expect(turn.message.content).toContain('Charge R$150 by card, quote shipping to CEP 30130-000 and issue the NF-e');
    });

    it('ends with a final message when asked for a turn past the end of the script', async () => {
      const messages: ChatMessage[] = [{ role: 'user', content: 'contract long answer' }];
      for (let i = 0; i < 3; i++) messages.push({ role: 'assistant', content: 'earlier' });
      const turn = await provider.complete({ model: CONTRACT_MODEL, messages });
      expect(turn.finishReason).toBe('stop');
      expect(turn.message.content).toContain('the script is over');
    });

    it('keeps calling a tool forever in the looping scenario', async () => {
      const messages: ChatMessage[] = [{ role: 'user', content: 'Loop forever' }];
      for (let i = 0; i < 25; i++) {
        messages.push({
          role: 'assistant',
          content: null,
          tool_calls: [{ id: `call_${i}_0`, type: 'function', function: { name: 'asaas__get_balance', arguments: '{}' } }],
        });
        messages.push({ role: 'tool', tool_call_id: `call_${i}_0`, content: '{"balance":1}' });
      }
      const turn = await provider.complete({ model: CONTRACT_MODEL, messages });
      expect(turn.finishReason).toBe('tool_calls');
      expect(turn.message.tool_calls?.map((c) => [c.id, c.function.name])).toEqual([['call_25_0', 'asaas__get_balance']]);
    });

    it('honours maxOutputTokens on a text answer with finishReason "length"', async () => {
      const turn = await provider.complete({
        model: CONTRACT_MODEL,
        messages: [{ role: 'user', content: 'contract long answer' }],
        maxOutputTokens: 10,
      });
      expect(turn.finishReason).toBe('length');
      expect(turn.message.content).toBe('x'.repeat(40));
    });

    it('drives the tenant_loja demo: Pix charge then WhatsApp', async () => {
      const run = await driveConversation(
        provider,
        'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766',
      );
      expect(run.calls.map((c) => c.name)).toEqual(['asaas__create_customer', 'asaas__create_payment', 'asaas__get_pix_qrcode', 'z-api__send_text']);
      expect(run.calls[1]!.args).toMatchObject({ customer: 'cus_000001', billingType: 'PIX', value: 50, dueDate: '2026-11-29' });
      expect(run.calls[2]!.args).toEqual({ id: 'pay_000001' });
      expect(run.calls[3]!.args.phone).toMatch(/^\d{10,15}$/);
      expect(run.calls[3]!.args.message).toContain('https://sandbox.asaas.com/i/pay_000001');
      expect(run.final.finishReason).toBe('stop');
      expect(run.final.message.content).toContain('pay_000001');
      expect(run.final.message.content).not.toContain('(unknown)');
    });

    it('drives the tenant_acme demo: card charge, shipping quote, NF-e', async () => {
      const run = await driveConversation(provider, 'Charge R$150 by card, quote shipping to CEP 30130-000 and issue the NF-e');
      expect(run.calls.map((c) => c.name)).toEqual([
        'stripe__create_customer',
        'stripe__create_payment_intent',
        'stripe__confirm_payment_intent',
        'correios__calculate_shipping',
        'nuvem-fiscal__create_nfe',
      ]);
      expect(run.calls[1]!.args).toMatchObject({ amount: 15000, currency: 'brl', customer: 'cus_S1' });
      expect(run.calls[2]!.args).toEqual({ id: 'pi_000001', payment_method: 'pm_card_visa' });
      expect(run.calls[3]!.args).toMatchObject({ cepDestino: '30130000' });
      expect(run.final.message.content).toContain('nfe_000001');
      expect(run.final.message.content).toContain('SEDEX R$ 25,90, PAC R$ 18,40');
      expect(run.final.message.content).not.toContain('(unknown)');
    });

    it('rejects with an AbortError (not a ModelError) when the signal is already aborted', async () => {
      const ac = new AbortController();
      ac.abort();
      const err = await provider.complete({ model: CONTRACT_MODEL, messages: probe() }, { signal: ac.signal }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('AbortError');
      expect(isModelError(err)).toBe(false);
    });
  });
}
