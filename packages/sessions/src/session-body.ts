import { z } from 'zod';
import { environment, LIMITS, metadata, serverId } from '@agents/jobs';

/** Session ids go into the SDK's paths unencoded: `ses_` + the lower-case id alphabet. */
export const SESSION_ID = /^ses_[0-9a-z]{26}$/;

/** Longest tool name accepted (the runtime refuses longer ones before any parsing work too). */
const MAX_TOOL_NAME = 512;

/**
 * `POST /v1/sessions` (API.md "Sessions"). `user_id` names the tenant; its format is the tenant
 * id's, checked with the caller's rights so that a malformed id answers like an unknown one.
 * `mocks` is accepted and ignored; `environment` is the operator's only.
 */
export const createSessionBody = z.strictObject({
  servers: z.array(serverId).max(LIMITS.servers).default([]),
  user_id: z.string().min(1).max(128).optional(),
  metadata: metadata.optional(),
  mocks: z.unknown().optional(),
  environment: environment.optional(),
});

const toolInput = z.record(z.string(), z.unknown());

/** What `handleToolCall(session, toolCall)` sends as `tool`: an OpenAI tool-call object. */
const openAiToolCall = z.object({
  id: z.string().max(256).optional(),
  type: z.literal('function').optional(),
  function: z.object({
    name: z.string().min(1).max(MAX_TOOL_NAME),
    // JSON text (what the model wrote); an object is taken as already parsed.
    arguments: z.union([z.string(), toolInput]).optional(),
  }),
});

/** `POST /v1/sessions/{id}/execute`: `{tool, input|params}` or `{tool: <OpenAI tool call>}`. */
export const executeBody = z.strictObject({
  tool: z.union([z.string().min(1).max(MAX_TOOL_NAME), openAiToolCall]),
  input: toolInput.optional(),
  params: toolInput.optional(),
});

/** `POST /v1/sessions/{id}/send`. */
export const sendBody = z.strictObject({
  message: z.string().min(1).max(LIMITS.input),
});
