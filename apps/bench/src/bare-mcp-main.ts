// Baseline of the pipeline benchmark, in its own process: one MCP client connected once over
// Streamable HTTP making `n` sequential tool calls (after a warm-up), printing its own CPU for the
// calls as JSON. `node --import tsx bare-mcp-main.ts <serverUrl> <bearer> <n>`
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

async function main() {
  const [url, bearer, n] = process.argv.slice(2);
  const client = new Client({ name: 'bench-bare', version: '0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url!), { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } }));
  const call = (i: number) => client.callTool({ name: 'create_customer', arguments: { name: `Bare ${i}`, cpfCnpj: '52998224725' } });
  for (let i = 0; i < 50; i++) await call(i);
  process.stdout.write('warm\n');
  // Wait for the go signal on stdin so the parent can snapshot the server's CPU first.
  await new Promise((r) => process.stdin.once('data', r));
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < Number(n); i++) await call(i);
  const u = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ calls: Number(n), cpu_s: (u.user + u.system) / 1e6 })}\n`);
  await client.close();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
