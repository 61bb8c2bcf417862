import path from 'node:path';
import type { Catalog, CatalogEntry } from '../src/catalog-types';
import type { CredentialSet, CredentialsSource, Environment, ToolCallRecord } from '../src/types';

export const TSX_BIN = path.resolve(__dirname, '../../../node_modules/.bin/tsx');
export const FAKE_STDIO_SERVER = path.resolve(__dirname, 'fixtures/fake-stdio-server.ts');

/** A catalog value over the fake MCP server: `asaas`, `stripe` (http) and, optionally, their stdio twins. */
export function fakeCatalog(baseUrl: string, transport: 'http' | 'stdio' = 'http'): Catalog {
  const entry = (id: string, field: string): CatalogEntry => ({
    id,
    name: id,
    description: `fake ${id}`,
    category: 'payments',
    sandbox: true,
    credential_fields: [
      { name: field, secret: true, required: true },
      { name: 'webhook_secret', secret: true, required: false },
    ],
    tools: [],
    transport:
      transport === 'http'
        ? { type: 'http', url: `${baseUrl}/mcp/${id}`, headers: { Authorization: `Bearer {{${field}}}` } }
        : { type: 'stdio', command: TSX_BIN, args: [FAKE_STDIO_SERVER], env: { FAKE_ACCOUNT: `{{${field}}}` } },
  });
  const entries = [entry('asaas', 'api_key'), entry('stripe', 'secret_key'), entry('z-api', 'token')];
  return { list: () => entries, get: (id) => entries.find((e) => e.id === id) };
}

/** Credentials as a plain value: tenant → server → set (environment-agnostic unless given). */
export function credentialsFrom(table: Record<string, Record<string, CredentialSet>>): CredentialsSource & { calls: number } {
  const src = {
    calls: 0,
    async get(tenantId: string, server: string, _env: Environment) {
      src.calls++;
      return table[tenantId]?.[server] ?? null;
    },
  };
  return src;
}

export function recorder(): { records: ToolCallRecord[]; meter: (r: ToolCallRecord) => void } {
  const records: ToolCallRecord[] = [];
  return { records, meter: (r) => records.push(r) };
}
