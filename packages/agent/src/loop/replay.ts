import type { ChatMessage, ToolCall, ToolMessage } from '../model/types';
import type { LoopStep, LoopUsage, ModelTurnPayload } from './types';

/** The newest model turn and which of its tool calls already have a stored answer. */
export interface OpenTurn {
  seq: number;
  payload: ModelTurnPayload;
  /** tool_call_id → stored answer. */
  answers: Map<string, ToolMessage>;
}

export interface ReplayState {
  /** system + user + every stored turn with its answers (in call order), except the answers of `last`. */
  messages: ChatMessage[];
  /** The last stored model turn, if any; its unanswered calls are what a resumed run executes first. */
  last: OpenTurn | undefined;
  iterations: number;
  usage: LoopUsage;
}

/** Seq of the i-th tool call of the turn stored at `turnSeq` (see LoopStep). */
export function toolCallSeq(turnSeq: number, index: number): number {
  return turnSeq + 1 + index;
}

/** Seq of the model turn that follows the turn stored at `turnSeq` with `calls` tool calls. */
export function nextTurnSeq(turnSeq: number, calls: number): number {
  return turnSeq + 1 + calls;
}

/** The stored answers of a turn, in the order the model asked for them. */
export function answersInCallOrder(turn: OpenTurn): ToolMessage[] {
  return (turn.payload.message.tool_calls ?? []).flatMap((call) => {
    const answer = turn.answers.get(call.id);
    return answer ? [answer] : [];
  });
}

/**
 * Rebuilds the conversation from checkpoints. Pure: the same steps always give the same messages,
 * so a resumed attempt sends the model exactly what the dead attempt would have sent.
 */
export function replaySteps(systemPrompt: string, input: string, steps: readonly LoopStep[]): ReplayState {
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: input },
  ];
  const usage: LoopUsage = { input_tokens: 0, output_tokens: 0 };
  let iterations = 0;
  let last: OpenTurn | undefined;
  const sorted = [...steps].sort((a, b) => a.seq - b.seq);
  for (const step of sorted) {
    if (step.kind === 'model_turn') {
      if (last) messages.push(...answersInCallOrder(last));
      messages.push(step.payload.message);
      last = { seq: step.seq, payload: step.payload, answers: new Map() };
      iterations++;
      usage.input_tokens += step.payload.usage.input_tokens;
      usage.output_tokens += step.payload.usage.output_tokens;
    } else if (last) {
      last.answers.set(step.payload.tool_call_id, step.payload);
    }
  }
  return { messages, last, iterations, usage };
}

/** Calls of a turn still lacking an answer, with the seq each must be executed (and keyed) under and its place in the turn. */
export function unansweredCalls(turn: OpenTurn): Array<{ call: ToolCall; seq: number; index: number }> {
  const calls = turn.payload.message.tool_calls ?? [];
  return calls.flatMap((call, index) => (turn.answers.has(call.id) ? [] : [{ call, seq: toolCallSeq(turn.seq, index), index }]));
}
