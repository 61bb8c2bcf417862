import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createSandboxState, getProvider, PROVIDER_IDS } from '@agents/sandbox-providers';
import { createLogger } from '@agents/observability';
import { credentialsFromEnv } from './credentials';
import { createProviderMcpServer } from './provider-mcp-server';
import { createWebhookSender } from './webhook-sender';

/**
 * `stdio.ts <server>`: one provider over MCP stdio, state in this process. Credentials come from
 * SANDBOX_CREDENTIAL_<FIELD> env vars (read once, like an entry point may). Logs go to stderr:
 * stdout carries the protocol.
 */
async function main(): Promise<void> {
  const id = process.argv[2] ?? '';
  const provider = getProvider(id);
  if (!provider) {
    process.stderr.write(`usage: stdio.ts <server>; server is one of ${PROVIDER_IDS.join(', ')}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: `sandbox-stdio-${provider.id}`, level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const credentials = credentialsFromEnv(provider, process.env);
  const webhooks = createWebhookSender({ logger });
  const server = createProviderMcpServer({
    provider,
    state: createSandboxState(),
    logger,
    credentials: () => credentials,
    onWebhooks: (w) => webhooks.send(w),
  });
  const transport = new StdioServerTransport();
  transport.onclose = () => {
    void webhooks.drain().then(() => process.exit(0));
  };
  await server.connect(transport);
  process.stdin.on('end', () => {
    void server.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox stdio failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
