/**
 * Runtime overhead benchmark. Prints, against a bare MCP SDK client measured in the same run:
 *  1. session create+close on a warm pool (goal ≤ 1 ms, i.e. a small fraction of one bare call);
 *  2. per-call overhead of `session.execute` over `client.callTool` (goal ≤ 20 %).
 * Target: the sandbox (apps/sandbox, `createSandboxServer`) when it is available, otherwise the
 * runtime's fake MCP test server (same Streamable-HTTP SDK stack).
 * Entry point: scripts/bench/runtime.ts (run: npx tsx scripts/bench/runtime.ts [calls=2000]).
 */
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { silentLogger } from '@agents/observability';
import { createCatalog, createRuntime, fillTransport } from '../src/index';
import type { Catalog, CatalogEntry } from '../src/index';

interface Target {
  label: string;
  catalog: Catalog;
  server: string;
  tool: string;
  args: Record<string, unknown>;
  values: Record<string, string>;
  close(): Promise<void>;
}

async function sandboxTarget(): Promise<Target | null> {
  let mod: { createSandboxServer?: (o?: unknown) => Promise<{ url: string; close(): Promise<void> }> };
  try {
    mod = require('@agents/sandbox');
  } catch {
    return null;
  }
  if (typeof mod.createSandboxServer !== 'function') return null;
  const sb = await mod.createSandboxServer({ port: 0, logger: silentLogger() });
  const catalog = createCatalog({ sandboxUrl: sb.url, includeStripeOfficial: false });
  const entry = catalog.get('asaas') as CatalogEntry;
  const values = Object.fromEntries(entry.credential_fields.map((f) => [f.name, `bench-${f.name}-000001`]));
  const tool = entry.tools.find((t) => t.name.startsWith('list_'))?.name ?? (entry.tools[0] as { name: string }).name;
  return { label: 'sandbox (apps/sandbox)', catalog, server: 'asaas', tool, args: {}, values, close: () => sb.close() };
}

async function fakeTarget(): Promise<Target> {
  const { startFakeHttpServer } = require('../test/fixtures/fake-http-server');
  const fake = await startFakeHttpServer();
  const entry: CatalogEntry = {
    id: 'asaas',
    name: 'fake',
    description: '',
    category: 'payments',
    sandbox: true,
    credential_fields: [{ name: 'api_key', secret: true, required: true }],
    tools: [],
    transport: { type: 'http', url: `${fake.url}/mcp/asaas`, headers: { Authorization: 'Bearer {{api_key}}' } },
  };
  return {
    label: 'fake MCP server (sandbox not available)',
    catalog: { list: () => [entry], get: (id) => (id === 'asaas' ? entry : undefined) },
    server: 'asaas',
    tool: 'list_payments',
    args: {},
    values: { api_key: 'bench-account-000001' },
    close: () => fake.close(),
  };
}

function fmt(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(1)} µs`;
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 2000);
  const target = (await sandboxTarget()) ?? (await fakeTarget());
  const entry = target.catalog.get(target.server) as CatalogEntry;
  const filled = fillTransport(entry, target.values);
  if (!filled.ok || filled.transport.type !== 'http') throw new Error('bench needs an http entry');

  // Baseline: a bare SDK client with the same headers, connected once.
  const bare = new Client({ name: 'bench-bare', version: '0' }, { capabilities: {} });
  await bare.connect(new StreamableHTTPClientTransport(new URL(filled.transport.url), { requestInit: { headers: filled.transport.headers } }));
  await bare.listTools(); // same validator caching as the runtime's listing

  const runtime = createRuntime({
    catalog: target.catalog,
    credentials: { get: async () => ({ values: target.values, version: '1' }) },
    logger: silentLogger(),
    sweepIntervalMs: 0,
  });
  const warm = runtime.sessions.create({ tenantId: 'bench', environment: 'test', servers: [target.server] });
  const first = await warm.execute(`${target.server}/${target.tool}`, target.args);
  const session = runtime.sessions.create({ tenantId: 'bench', environment: 'test', servers: [target.server] });
  await session.execute(`${target.server}/${target.tool}`, target.args); // attach + list once

  const bareCall = () => bare.callTool({ name: target.tool, arguments: target.args });
  const rtCall = () => session.execute(`${target.server}/${target.tool}`, target.args);
  for (let i = 0; i < 200; i++) {
    await bareCall();
    await rtCall();
  }

  // Alternate blocks so drift (GC, JIT, server state growth) hits both sides equally.
  let bareMs = 0;
  let rtMs = 0;
  const block = 100;
  for (let done = 0; done < calls; done += block) {
    let t = performance.now();
    for (let i = 0; i < block; i++) await bareCall();
    bareMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < block; i++) await rtCall();
    rtMs += performance.now() - t;
  }
  const bareUs = (bareMs * 1000) / calls;
  const rtUs = (rtMs * 1000) / calls;

  // Session create+close on a warm pool (what a job pays before its first tool call).
  const n = 20_000;
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    const s = runtime.sessions.create({
      tenantId: 'bench',
      environment: 'test',
      servers: [target.server],
      metadata: { job_id: `job_${i}` },
    });
    await s.close();
  }
  const createUs = ((performance.now() - t) * 1000) / n;

  console.log(`target: ${target.label}; tool ${target.server}/${target.tool} (first result success=${first.success})`);
  console.log(`bare MCP client callTool:          ${fmt(bareUs)} per call (${calls} calls)`);
  console.log(`runtime session.execute:           ${fmt(rtUs)} per call`);
  console.log(
    `execute overhead:                  ${fmt(rtUs - bareUs)} = ${(((rtUs - bareUs) / bareUs) * 100).toFixed(1)} % over a bare call (ratio ${(rtUs / bareUs).toFixed(3)}; goal ≤ 1.20)`,
  );
  console.log(
    `session create+close (warm pool):  ${fmt(createUs)} = ${(createUs / bareUs).toFixed(4)} × a bare call (goal ≤ 1 ms: ${createUs <= 1000 ? 'met' : 'NOT met'})`,
  );

  await warm.close();
  await session.close();
  await runtime.close();
  await bare.close();
  await target.close();
}

export function runBench(): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
