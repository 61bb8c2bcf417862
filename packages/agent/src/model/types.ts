/**
 * The model-provider interface the agent loop codes against. Message and tool shapes are the
 * OpenAI Chat Completions wire shapes, so a turn can be stored and replayed verbatim and any
 * OpenAI-compatible server fits behind it.
 */

export interface SystemMessage {
  role: 'system';
  content: string;
  name?: string;
}

export interface UserMessage {
  role: 'user';
  content: string;
  name?: string;
}

export interface ToolCall {
  /** Unique within the conversation; the matching tool message carries it as `tool_call_id`. */
  id: string;
  type: 'function';
  /** `arguments` is a JSON-encoded object, exactly as the model produced it (it may be invalid JSON). */
  function: { name: string; arguments: string };
}

export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCall[];
}

export interface ToolMessage {
  role: 'tool';
  tool_call_id: string;
  /** The tool result as text; by convention JSON (structured result, or `{"error": …}` on failure). */
  content: string;
}

/** OpenAI Chat Completions message shapes: system | user | assistant (content, tool_calls) | tool (tool_call_id, content). */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface ModelRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** Upper bound on reply tokens; sent as `max_completion_tokens`. */
  maxOutputTokens?: number;
}

export interface ModelTurn {
  message: AssistantMessage & { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] };
  finishReason: 'stop' | 'tool_calls' | 'length' | string;
  usage: { inputTokens: number; outputTokens: number };
}

export interface ModelCallOptions {
  /** Aborting rejects the call promptly with an error named 'AbortError' (not a ModelError). */
  signal?: AbortSignal;
}

export interface ModelProvider {
  readonly id: string;
  complete(req: ModelRequest, opts?: ModelCallOptions): Promise<ModelTurn>;
}
