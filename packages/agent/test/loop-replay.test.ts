import { buildSystemPrompt, DEFAULT_INSTRUCTIONS, nextTurnSeq, replaySteps, toolCallSeq } from '@agents/agent';
import type { LoopStep } from '@agents/agent';

const turn = (seq: number, calls: string[], content: string | null = null): LoopStep => ({
  seq,
  kind: 'model_turn',
  payload: {
    message: {
      role: 'assistant',
      content,
      ...(calls.length
        ? { tool_calls: calls.map((id) => ({ id, type: 'function' as const, function: { name: 'asaas__get_balance', arguments: '{}' } })) }
        : {}),
    },
    finish_reason: calls.length ? 'tool_calls' : 'stop',
    usage: { input_tokens: 10, output_tokens: 2 },
  },
});
const answer = (seq: number, id: string): LoopStep => ({ seq, kind: 'tool_call', payload: { role: 'tool', tool_call_id: id, content: `{"id":"${id}"}` } });

test('seqs: a turn at s with k calls answers at s+1..s+k, the next turn at s+k+1', () => {
  expect([toolCallSeq(0, 0), toolCallSeq(0, 1), nextTurnSeq(0, 2)]).toEqual([1, 2, 3]);
  expect(nextTurnSeq(3, 0)).toBe(4);
});

test('replay rebuilds the conversation in call order whatever order the steps come in', () => {
  const steps = [answer(2, 'b'), turn(3, ['c']), turn(0, ['a', 'b']), answer(1, 'a')];
  const r = replaySteps('sys', 'hi', steps);
  expect(r.messages.map((m) => (m.role === 'tool' ? `tool:${m.tool_call_id}` : m.role))).toEqual([
    'system',
    'user',
    'assistant',
    'tool:a',
    'tool:b',
    'assistant',
  ]);
  expect(r.iterations).toBe(2);
  expect(r.usage).toEqual({ input_tokens: 20, output_tokens: 4 });
  expect(r.last?.seq).toBe(3);
  expect(r.last?.answers.size).toBe(0);
});

test('replay of nothing is the fresh conversation', () => {
  const r = replaySteps('sys', 'hi', []);
  expect(r.messages).toEqual([
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'hi' },
  ]);
  expect(r.last).toBeUndefined();
  expect(r.iterations).toBe(0);
});

test('the system prompt is the tenant instructions (or the default) plus the platform rules', () => {
  expect(buildSystemPrompt('  Be brief.  ')).toMatch(/^Be brief\.\n\nTool results come back as JSON/);
  expect(buildSystemPrompt(null).startsWith(DEFAULT_INSTRUCTIONS)).toBe(true);
});
