export { createRuntime } from './runtime';
export type { Runtime, RuntimeOptions, RuntimeStats } from './runtime';
export { createCatalog, sandboxEntries, sandboxTransportFor, stripeOfficialEntry } from './catalog';
export type { CatalogOptions, SandboxTransportOption } from './catalog';
export type { Catalog, CatalogEntry, CatalogTool, CredentialField, HttpTransportTemplate, StdioTransportTemplate, TransportTemplate } from './catalog-types';
export { fillTransport } from './template';
export type { FillResult, FilledTransport } from './template';
export { assignModelNames, resolveToolName, canonicalToolName, MODEL_NAME_PATTERN } from './tool-names';
export type { NameResolution } from './tool-names';
export { RuntimeError, isRuntimeError, TOOL_ERROR_CODES } from './errors';
export type { RuntimeErrorCode, ToolErrorCode } from './errors';
export { getTools, handleToolCall, toToolMessage, DEFAULT_TOOL_MESSAGE_MAX_BYTES } from './openai-adapter';
export type { OpenAIToolCall, ToolDefinition, ToolMessage } from './openai-adapter';
export type {
  CreateSessionOptions,
  CredentialSet,
  CredentialsSource,
  Environment,
  BeforeExecute,
  ExecuteOptions,
  Session,
  Tool,
  ToolCallIntent,
  ToolCallRecord,
  ToolResult,
} from './types';
export { withCallSignal } from './call-signal';
export { isPlainObject } from './arguments';
