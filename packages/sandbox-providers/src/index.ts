export { PROVIDERS, PROVIDER_IDS, getProvider, isProviderId } from './registry';
export { createSandboxState } from './sandbox-state';
export type { SandboxState, SandboxStateOptions, CallToolOptions, ToolCallOutcome, SimulateOutcome, CredentialValues } from './sandbox-state';
export { ProviderError, SandboxError } from './provider-error';
export { prepareWebhook } from './webhook-signing';
export type { WebhookScheme } from './provider-module';
export { toolInputJsonSchema } from './tool-json-schema';
export { SIMULATE_ACTIONS } from './types';
export { isValidCpf, isValidCnpj, isValidNfeKey, isValidTrackingCode, isWellFormedCredential, normalizeCep } from './validators';
export type {
  ProviderId,
  ProviderCategory,
  ProviderDefinition,
  CredentialField,
  SandboxTool,
  ToolContext,
  ToolHandler,
  ProviderObject,
  SimulateAction,
  SandboxObjectView,
  WebhookConfig,
  PreparedWebhook,
  ToolResult,
} from './types';
