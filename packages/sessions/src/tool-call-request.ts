import { validationDetails } from '@agents/jobs';
import { isPlainObject } from '@agents/runtime';
import { executeBody } from './session-body';
import { SessionError } from './session-error';

/** An execute request reduced to what a worker runs: the name as sent and the argument object. */
export interface ToolCallRequest {
  name: string;
  input: Record<string, unknown>;
}

const invalid = (path: string, message: string) => new SessionError('validation_failed', 'The request body is invalid.', [{ path, message }]);

/**
 * Both body forms of `POST /v1/sessions/{id}/execute`: `{tool: "<name>", input | params}` (the
 * SDK's `execute`), and `{tool: <OpenAI tool call>}` (what `handleToolCall(session, toolCall)`
 * posts), whose `function.arguments` is the model's JSON text: "" or absent means no arguments;
 * anything but a JSON object is a malformed request (400), before anything is queued or billed.
 */
export function toolCallRequest(raw: unknown): ToolCallRequest {
  const parsed = executeBody.safeParse(raw ?? {});
  if (!parsed.success) throw new SessionError('validation_failed', 'The request body is invalid.', validationDetails('body', parsed.error));
  const body = parsed.data;
  if (body.input && body.params) throw invalid('body.params', 'send input or params, not both');
  if (typeof body.tool === 'string') return { name: body.tool, input: body.input ?? body.params ?? {} };
  if (body.input || body.params) throw invalid('body.input', 'the arguments of a tool-call object are its function.arguments');
  const args = body.tool.function.arguments;
  if (args === undefined || (typeof args === 'string' && args.trim() === '')) return { name: body.tool.function.name, input: {} };
  if (typeof args !== 'string') return { name: body.tool.function.name, input: args };
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    throw invalid('body.tool.function.arguments', 'must be JSON text');
  }
  if (!isPlainObject(value)) throw invalid('body.tool.function.arguments', 'must be a JSON object');
  return { name: body.tool.function.name, input: value };
}
