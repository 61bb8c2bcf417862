import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface ToolOutcome {
  isError: boolean;
  data: Record<string, any>;
  text: string;
}

export interface SandboxClient {
  call(tool: string, args?: Record<string, unknown>, idempotencyKey?: string): Promise<ToolOutcome>;
  client: Client;
  close(): Promise<void>;
}

/** A real MCP client for /mcp/<server>, credentials as the runtime sends them (HTTP headers). */
export async function connect(baseUrl: string, server: string, headers: Record<string, string>): Promise<SandboxClient> {
  const client = new Client({ name: 'sandbox-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp/${server}`), { requestInit: { headers } });
  await client.connect(transport);
  return {
    client,
    async call(tool, args = {}, idempotencyKey) {
      const res = await client.callTool({
        name: tool,
        arguments: args,
        ...(idempotencyKey ? { _meta: { idempotency_key: idempotencyKey } } : {}),
      });
      const content = res.content as { type: string; text: string }[];
      const text = content[0]?.text ?? '';
      return { isError: res.isError === true, data: (res.structuredContent ?? JSON.parse(text)) as Record<string, any>, text };
    },
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

export const bearer = (value: string, extra: Record<string, string> = {}): Record<string, string> => ({
  Authorization: `Bearer ${value}`,
  ...extra,
});

/** A due date safely in the future for any run date (Asaas refuses past due dates). */
export function futureDate(days = 30): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

// Valid test documents (check digits verified): CPF 123.456.789-09, CNPJ 12.345.678/0001-95.
export const CPF = '12345678909';
export const CNPJ = '11222333000181';
