import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CredentialValues, PreparedWebhook, ProviderDefinition, SandboxState } from '@agents/sandbox-providers';
import { toolInputJsonSchema } from '@agents/sandbox-providers';
import type { Logger } from '@agents/observability';

/** One tools/call that reached the service (the account is null when its credential was unusable). */
export interface SandboxRequest {
  server: string;
  tool: string;
  account: string | null;
  idempotency_key: string | null;
  at: string;
}

export type RequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ProviderMcpServerOptions {
  provider: ProviderDefinition;
  state: SandboxState;
  logger: Logger;
  /** Where this transport finds the caller's credentials (HTTP headers per request, or stdio env). */
  credentials(extra: RequestExtra): CredentialValues;
  onRequest?(record: SandboxRequest): void;
  onWebhooks?(webhooks: PreparedWebhook[]): void;
  /** Added before every tool call answers (ms); benchmarks use it to give jobs a known duration. Default 0. */
  callLatencyMs?: number;
  /**
   * Added after a call's effect and before its answer (ms): a provider that committed but has not
   * answered yet, the window in which a caller that dies leaves a done side effect. Default 0.
   */
  answerDelayMs?: number;
}

const SERVER_VERSION = '1.0.0';

/**
 * The MCP server of one provider, shared by the HTTP and stdio entries. Uses the low-level Server so
 * argument-schema failures come back as the provider's own error result (isError + `{error:{...}}`)
 * instead of McpServer's plain-text "Input validation error".
 */
export function createProviderMcpServer(opts: ProviderMcpServerOptions): Server {
  const { provider, state } = opts;
  const server = new Server(
    { name: `sandbox-${provider.id}`, version: SERVER_VERSION },
    { capabilities: { tools: {} }, instructions: `${provider.name} sandbox: ${provider.description}` },
  );
  const tools = provider.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: toolInputJsonSchema(t) }));

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (opts.callLatencyMs) await new Promise((r) => setTimeout(r, opts.callLatencyMs));
    const name = request.params.name;
    const rawKey = request.params._meta?.idempotency_key;
    const idempotencyKey = typeof rawKey === 'string' && rawKey.length > 0 ? rawKey : null;
    const outcome = state.callTool(provider.id, name, request.params.arguments ?? {}, {
      credentials: opts.credentials(extra),
      idempotencyKey,
    });
    opts.onRequest?.({ server: provider.id, tool: name, account: outcome.account, idempotency_key: idempotencyKey, at: new Date().toISOString() });
    if (outcome.webhooks.length > 0) opts.onWebhooks?.(outcome.webhooks);
    if (opts.answerDelayMs) await new Promise((r) => setTimeout(r, opts.answerDelayMs));
    if (outcome.result.isError) {
      const err = (outcome.result.structuredContent as { error?: { code?: unknown } }).error;
      opts.logger.debug({ server: provider.id, tool: name, code: err?.code }, 'sandbox tool call failed');
    }
    return outcome.result;
  });

  return server;
}
