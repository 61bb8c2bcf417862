import type { z } from 'zod';

export type ProviderId = 'stripe' | 'correios' | 'nuvem-fiscal' | 'asaas' | 'melhor-envio' | 'z-api';
export type ProviderCategory = 'payments' | 'fiscal' | 'shipping' | 'messaging';

export interface CredentialField {
  name: string;
  secret: boolean;
  required: boolean;
}

/** A provider-shaped JSON object (what the real REST API would return). */
export type ProviderObject = Record<string, unknown>;

/**
 * Everything a tool handler may touch for one call: the caller's account partition of the state,
 * the call's clock reading and idempotency key. Handlers are synchronous on purpose: a call runs to
 * completion before the next one starts, so idempotency and counters need no locks.
 */
export interface ToolContext {
  readonly server: ProviderId;
  readonly account: string;
  readonly now: Date;
  readonly idempotencyKey: string | null;
  /** Next value of a per-account counter (1, 2, 3...), e.g. `ctx.next('pi')`. */
  next(counter: string): number;
  /** Stores a new object; `statusField` names the provider field that holds its status, if any. */
  insert(object: string, id: string, data: ProviderObject, statusField?: string): ProviderObject;
  /** The stored provider object with this id and object type, or undefined (other accounts are invisible). */
  find(object: string, id: string): ProviderObject | undefined;
  /** Every stored object of a type, in creation order. */
  list(object: string): ProviderObject[];
  /** Queues a webhook event body; it is signed and sent only if the account configured a webhook. */
  emit(event: ProviderObject): void;
}

export type ToolHandler = (args: unknown, ctx: ToolContext) => ProviderObject;

export interface SandboxTool {
  name: string;
  description: string;
  /** Zod object schema of the arguments; its JSON Schema is what tools/list advertises. */
  inputSchema: z.ZodObject;
  /** Receives arguments already parsed by `inputSchema`. Returns provider JSON or throws ProviderError. */
  handler: ToolHandler;
}

export interface ProviderDefinition {
  id: ProviderId;
  name: string;
  description: string;
  category: ProviderCategory;
  /** Catalog order; the FIRST field's value names the account. */
  credentialFields: CredentialField[];
  tools: SandboxTool[];
}

export type SimulateAction = 'payment_received' | 'nfe_authorized' | 'nfe_rejected' | 'label_posted' | 'delivered' | 'message_read';

export const SIMULATE_ACTIONS: readonly SimulateAction[] = ['payment_received', 'nfe_authorized', 'nfe_rejected', 'label_posted', 'delivered', 'message_read'];

/** What the inspection endpoint lists: the canonical fields first, then the provider object's own. */
export interface SandboxObjectView {
  id: string;
  object: string;
  status?: string;
  idempotency_key: string | null;
  created_at: string;
  [field: string]: unknown;
}

export interface WebhookConfig {
  url: string;
  secret: string;
}

/** A signed webhook ready to POST; building it is pure, sending it is the HTTP app's job. */
export interface PreparedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Provider event name (`payment_intent.succeeded`, `PAYMENT_RECEIVED`, `order.generated`...). */
  event: string;
}

/** MCP CallToolResult as plain data (no SDK dependency here). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent: ProviderObject;
  isError?: boolean;
}
