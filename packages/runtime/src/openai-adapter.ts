import { UnparsedArguments } from './arguments';
import type { ExecuteOptions, Session, ToolResult } from './types';

/** A Chat Completions `tools[]` element. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The part of an OpenAI assistant `tool_calls[]` element we read. */
export interface OpenAIToolCall {
  id: string;
  type?: 'function';
  function: { name: string; arguments: string };
}

export interface ToolMessage {
  role: 'tool';
  tool_call_id: string;
  content: string;
}

/** Default cap on a tool message's content (bytes, UTF-8): large provider payloads would eat the model's context. */
export const DEFAULT_TOOL_MESSAGE_MAX_BYTES = 32 * 1024;

/**
 * The session's tools as Chat Completions function tools, named `<server>__<tool>` (or the
 * deterministic truncated+hashed form when that is not a valid/unique OpenAI name). The session
 * keeps the map back to canonical names, so `handleToolCall` accepts exactly these names.
 */
export async function getTools(session: Session): Promise<ToolDefinition[]> {
  const tools = await session.tools();
  return tools.map((t) => ({
    type: 'function',
    function: {
      name: t.model_name,
      description: t.description,
      parameters:
        t.input_schema && typeof t.input_schema === 'object' && t.input_schema.type === 'object' ? t.input_schema : { type: 'object', properties: {} },
    },
  }));
}

/**
 * Execute an OpenAI tool call in the session. Bad JSON or non-object arguments come back as a
 * failed ToolResult (`invalid_arguments`, metered like any call), never as a throw. Also accepts
 * CodeSpar's form `handleToolCall(session, name, args, opts?)`.
 */
export async function handleToolCall(session: Session, toolCall: OpenAIToolCall, opts?: ExecuteOptions): Promise<ToolResult>;
export async function handleToolCall(session: Session, name: string, args: Record<string, unknown>, opts?: ExecuteOptions): Promise<ToolResult>;
export async function handleToolCall(
  session: Session,
  callOrName: OpenAIToolCall | string,
  argsOrOpts?: Record<string, unknown> | ExecuteOptions,
  maybeOpts?: ExecuteOptions,
): Promise<ToolResult> {
  if (typeof callOrName === 'string') {
    return session.execute(callOrName, argsOrOpts, maybeOpts);
  }
  const opts = argsOrOpts as ExecuteOptions | undefined;
  const name = callOrName?.function?.name;
  const raw = callOrName?.function?.arguments;
  return session.execute(typeof name === 'string' ? name : '', parseArguments(raw), opts);
}

function parseArguments(raw: unknown): unknown {
  // Models send "" (or omit arguments) for tools without parameters.
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return {};
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch (err) {
    return new UnparsedArguments(`arguments are not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The `role: "tool"` message answering a tool call; content = JSON of {success, data, error, error_code}, capped in size. */
export function toToolMessage(
  toolCall: Pick<OpenAIToolCall, 'id'>,
  result: Pick<ToolResult, 'success' | 'data' | 'error'> & { error_code: string | null },
  opts: { maxBytes?: number } = {},
): ToolMessage {
  const maxBytes = opts.maxBytes ?? DEFAULT_TOOL_MESSAGE_MAX_BYTES;
  const body = { success: result.success, data: result.data, error: result.error, error_code: result.error_code };
  let content = JSON.stringify(body);
  if (Buffer.byteLength(content) > maxBytes) {
    const full = JSON.stringify(result.data) ?? '';
    // Shrink the preview until the whole envelope fits; halves each round, so a few rounds at most.
    let keep = Math.max(0, maxBytes - 256);
    for (;;) {
      const preview = { truncated: true, original_bytes: Buffer.byteLength(full), preview: full.slice(0, keep) };
      content = JSON.stringify({ ...body, data: preview });
      if (Buffer.byteLength(content) <= maxBytes || keep === 0) break;
      keep = Math.floor(keep / 2);
    }
  }
  return { role: 'tool', tool_call_id: toolCall.id, content };
}
