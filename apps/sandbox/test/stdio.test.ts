import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CPF, futureDate } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');

async function spawnAsaas(env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'apps/sandbox/src/stdio.ts', 'asaas'],
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('stdio entry', () => {
  const clients: Client[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close();
  });

  it('runs one provider over MCP stdio with credentials from SANDBOX_CREDENTIAL_* env vars', async () => {
    const client = await spawnAsaas({ SANDBOX_CREDENTIAL_API_KEY: '$aact_stdio_key' });
    clients.push(client);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('create_payment');
    const cus = await client.callTool({ name: 'create_customer', arguments: { name: 'Maria', cpfCnpj: CPF } });
    expect(cus.structuredContent).toMatchObject({ id: 'cus_000001', object: 'customer' });
    const args = { customer: 'cus_000001', billingType: 'PIX', value: 25, dueDate: futureDate() };
    const first = await client.callTool({ name: 'create_payment', arguments: args, _meta: { idempotency_key: 'stdio:1' } });
    const again = await client.callTool({ name: 'create_payment', arguments: args, _meta: { idempotency_key: 'stdio:1' } });
    expect(first.structuredContent).toMatchObject({ id: 'pay_000001', status: 'PENDING' });
    expect(again.structuredContent).toEqual(first.structuredContent);
    const list = await client.callTool({ name: 'list_payments', arguments: {} });
    expect(list.structuredContent).toMatchObject({ totalCount: 1 });
  });

  it('answers 401 when the credential env var is missing', async () => {
    const client = await spawnAsaas({});
    clients.push(client);
    const res = await client.callTool({ name: 'get_balance', arguments: {} });
    expect(res.isError).toBe(true);
    expect(res.structuredContent).toMatchObject({ error: { code: 'invalid_access_token', status: 401 } });
  });
});
