import { setTimeout as delay } from 'node:timers/promises';
import { createAbortError, throwIfAborted } from '../model/abort';
import type { ChatMessage, ModelCallOptions, ModelProvider, ModelRequest, ModelTurn, ToolCall } from '../model/types';
import { compileMatcher, parseScenario, toList } from './scenario';
import type { Scenario } from './scenario';
import { renderText, renderValue } from './template';
import type { TemplateContext } from './template';

export interface ScriptedModelOptions {
  /** Tried in order; the first whose `match` fits the first user message wins. */
  scenarios: Scenario[];
  /** Wait before every reply, ms (benchmarks: simulates model latency). Abortable. Default 0. */
  latencyMs?: number;
  /** Clock for `{{today}}` templates. Default: the real clock. */
  now?: () => Date;
}

interface CompiledScenario {
  scenario: ReturnType<typeof parseScenario>;
  matches: (text: string) => boolean;
}

/** Rough token estimate: ~4 characters per token, the usual rule of thumb for English/JSON text. */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/** Text of a message whose content may arrive as a string or (over HTTP) as an array of text parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  }
  return '';
}

/** Function name of each call id, then the latest tool message content per function name. */
function collectResults(messages: ChatMessage[]): Map<string, string> {
  const fnById = new Map<string, string>();
  const results = new Map<string, string>();
  for (const m of messages) {
    if (m.role === 'assistant') {
      for (const tc of m.tool_calls ?? []) fnById.set(tc.id, tc.function.name);
    } else if (m.role === 'tool') {
      const fn = fnById.get(m.tool_call_id);
      if (fn !== undefined) results.set(fn, contentText(m.content));
    }
  }
  return results;
}

function noMatchMessage(scenarios: CompiledScenario[]): string {
  const examples = scenarios.filter((s) => s.scenario.example).map((s) => `- "${s.scenario.example}" (${s.scenario.name})`);
  return [
    'No scripted scenario matched this request, so nothing was done.',
    'The scripted model (used when OPENAI_API_KEY is unset) only follows scenario fixtures matched on the first user message.',
    examples.length > 0 ? `Messages it knows:\n${examples.join('\n')}` : 'No scenarios are loaded.',
    'To add one, drop a JSON file into the scenario fixtures folder (packages/agent/fixtures/scenarios, or the FIXTURES_DIR of the model-sandbox) ' +
      'with {"name", "match", "turns": [{"tool_calls": [{"name": "<server>__<tool>", "arguments": {…}}]}, {"content": "…"}]} — ' +
      'see packages/agent/README.md "Model providers". Or set OPENAI_API_KEY to use a real model.',
  ].join('\n');
}

/**
 * An in-process, deterministic ModelProvider driven by scenario fixtures: the first user message
 * picks the scenario, the number of assistant messages so far picks the turn. Tool-call ids are
 * `call_<turn>_<i>`; token usage is ceil(chars/4) of the serialized prompt and of the reply.
 */
export function createScriptedModel(opts: ScriptedModelOptions): ModelProvider {
  const compiled: CompiledScenario[] = opts.scenarios.map((s, i) => {
    const scenario = parseScenario(s, `scenarios[${i}]`);
    const matchers = toList(scenario.match).map((m) => compileMatcher(m, scenario.name));
    return { scenario, matches: (text: string) => matchers.some((fn) => fn(text)) };
  });
  const latencyMs = opts.latencyMs ?? 0;
  const now = opts.now ?? (() => new Date());

  const complete = async (req: ModelRequest, callOpts?: ModelCallOptions): Promise<ModelTurn> => {
    const signal = callOpts?.signal;
    throwIfAborted(signal);
    if (latencyMs > 0) {
      try {
        await delay(latencyMs, undefined, signal ? { signal } : undefined);
      } catch {
        throw createAbortError();
      }
    }

    const firstUser = req.messages.find((m) => m.role === 'user');
    const userText = firstUser ? contentText(firstUser.content) : '';
    const turnIndex = req.messages.filter((m) => m.role === 'assistant').length;
    const hit = firstUser ? compiled.find((c) => c.matches(userText)) : undefined;

    let content: string | null;
    let toolCalls: ToolCall[] = [];
    if (!hit) {
      content = noMatchMessage(compiled);
    } else {
      const { scenario } = hit;
      const turns = scenario.turns;
      const turn = turnIndex < turns.length ? turns[turnIndex] : scenario.repeat_last_turn ? turns[turns.length - 1] : undefined;
      if (!turn) {
        content = `Scripted scenario "${scenario.name}" has ${turns.length} turn(s) and this is turn ${turnIndex + 1}; the script is over, so I am stopping here.`;
      } else {
        const ctx: TemplateContext = { results: collectResults(req.messages), now: now() };
        content = turn.content !== undefined ? renderText(turn.content, ctx) : null;
        toolCalls = (turn.tool_calls ?? []).map((tc, i) => ({
          id: `call_${turnIndex}_${i}`,
          type: 'function' as const,
          function: { name: tc.name, arguments: JSON.stringify(renderValue(tc.arguments ?? {}, ctx)) },
        }));
      }
    }

    let finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    // A token cap can only cut plain text; cutting tool-call JSON would hand the loop broken arguments.
    if (toolCalls.length === 0 && content !== null && req.maxOutputTokens !== undefined && estimateTokens(content.length) > req.maxOutputTokens) {
      content = content.slice(0, Math.max(0, req.maxOutputTokens * 4));
      finishReason = 'length';
    }

    const promptChars = JSON.stringify(req.messages).length + (req.tools ? JSON.stringify(req.tools).length : 0);
    const replyChars = (content?.length ?? 0) + toolCalls.reduce((n, tc) => n + tc.function.name.length + tc.function.arguments.length, 0);
    const message: ModelTurn['message'] = { role: 'assistant', content };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return {
      message,
      finishReason,
      usage: { inputTokens: estimateTokens(promptChars), outputTokens: estimateTokens(replyChars) },
    };
  };

  return { id: 'scripted', complete };
}
