/**
 * Sessions benchmark (issue #22): `npx tsx scripts/bench/sessions.ts [calls=300] [seconds=10] [sessions=50]`
 *
 * The seed's hot path, driven as its app drives it (testkit's CodeSpar wire client under a
 * platform key) against the built bundles: the API, 2 workers and the sandbox, each its own
 * process. Baselines in the same run, against the same sandbox process: a bare MCP client calling
 * the same tool over one Streamable HTTP connection (what an app without us would do), and a job
 * submission for the create comparison. Prints:
 *   - execute p50 (sequential, one session) ÷ bare callTool p50 (goal ≤ 5);
 *   - throughput at `sessions` concurrent sessions (one per tenant) ÷ bare at the same concurrency (goal ≥ 0.3);
 *   - session create p50 ÷ job submission p50 (goal ≤ 2);
 *   - CPU ms per call in each process over the throughput windows (this process for the bare clients).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { codesparWire } from '@agents/testkit';
import type { WireSession } from '@agents/testkit';
import { percentile } from '../load';
import { cpuTree } from '../proc-cpu';
import { OPERATOR_KEY, startStack, workflowBody } from '../stack';
import type { Stack } from '../stack';

export interface SessionsBenchOptions {
  calls: number;
  seconds: number;
  sessions: number;
}

const ARGS = (i: number) => ({ name: `Cliente ${i}`, cpfCnpj: '52998224725' });

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [performance.now() - t0, out];
}

/** `n` sequential calls of `fn` after 20 warm-up ones: the latencies (ms). */
async function latencies(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await timed(() => fn(i)))[0]);
  return out;
}

/** `loops` concurrent loops of `fn` for `seconds`: completed calls per second. */
async function throughput(loops: number, seconds: number, fn: (loop: number, i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let i = 0; performance.now() < end; i++) {
        await fn(loop, i);
        done++;
      }
    }),
  );
  return done / seconds;
}

async function bareClient(stack: Stack, tenant: string): Promise<Client> {
  const client = new Client({ name: 'bench-bare', version: '0' }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${stack.sandbox.url}/mcp/asaas`), {
      requestInit: { headers: { Authorization: `Bearer ${stack.accountOf(tenant)}` } },
    }),
  );
  return client;
}

function mustSucceed(r: { success: boolean; error: string | null }): void {
  if (!r.success) throw new Error(`execute failed: ${r.error}`);
}

export async function runSessionsBench(o: SessionsBenchOptions): Promise<void> {
  const stack = await startStack({ label: 'sessions', tenants: o.sessions, workers: 2, bundles: true, sandboxProcess: true, ownPostgres: true });
  const procs = (): Record<string, number[]> => ({
    api: [stack.api.pid],
    workers: stack.workers.map((w) => w.pid),
    sandbox: [stack.sandboxChild!.pid],
    redis: [stack.redis!.pid()!],
    postgres: [stack.postgres!.pid()],
  });
  // The load's own clients run in this process (not cpuTree: its children are the whole stack).
  const ownCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const snap = () => ({
    ...Object.fromEntries(Object.entries(procs()).map(([k, pids]) => [k, pids.reduce((sum, pid) => sum + cpuTree(pid), 0)])),
    client: ownCpu(),
  });
  /** CPU ms per call of each process between two snapshots. */
  const perCall = (a: Record<string, number>, b: Record<string, number>, calls: number) =>
    Object.fromEntries(Object.keys(a).map((k) => [k, ((b[k]! - a[k]!) * 1000) / Math.max(1, calls)]));
  const clients: Client[] = [];
  try {
    console.log(`sessions: ${stack.runs}`);
    const r = await fetch(`${stack.apiUrl}/v1/admin/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'live', name: 'bench' }),
    });
    const platformKey = ((await r.json()) as { key: string }).key;
    const wire = codesparWire({ baseUrl: stack.apiUrl, apiKey: platformKey });
    const headers = { authorization: `Bearer ${platformKey}`, 'content-type': 'application/json' };

    // 1. Latency, sequential: bare callTool, then execute through the API, the queue and a worker.
    const bare = await bareClient(stack, stack.tenants[0]!);
    clients.push(bare);
    const bareLat = await latencies(o.calls, (i) => bare.callTool({ name: 'create_customer', arguments: ARGS(i) }));
    const one = await wire.create(stack.tenants[0]!, { servers: ['asaas'] });
    const execLat = await latencies(o.calls, async (i) => mustSucceed(await one.execute('asaas__create_customer', ARGS(i))));

    // 2. Throughput at `sessions` concurrent callers: one bare client per tenant, one session per tenant.
    for (const t of stack.tenants) clients.push(await bareClient(stack, t));
    const b0 = snap();
    const bareTput = await throughput(o.sessions, o.seconds, (loop, i) => clients[loop + 1]!.callTool({ name: 'create_customer', arguments: ARGS(i) }));
    const bareCpu = perCall(b0, snap(), bareTput * o.seconds);
    const sessions: WireSession[] = [];
    for (const t of stack.tenants) sessions.push(await wire.create(t, { servers: ['asaas'] }));
    // Warm, as the bare clients are connected before their window: each worker process opens a
    // session's MCP connection (credentials, initialize, tool list) on its first call of it.
    for (let round = 0; round < 4; round++) await Promise.all(sessions.map(async (s, i) => mustSucceed(await s.execute('asaas__create_customer', ARGS(i)))));
    const e0 = snap();
    const execTput = await throughput(o.sessions, o.seconds, async (loop, i) => mustSucceed(await sessions[loop]!.execute('asaas__create_customer', ARGS(i))));
    const execCpu = perCall(e0, snap(), execTput * o.seconds);

    // 3. Session create vs job submission, sequential, same key and tenant.
    const createLat = await latencies(o.calls, () => wire.create(stack.tenants[1]!, { servers: ['asaas'] }));
    const body = JSON.stringify(workflowBody('bench'));
    const submitLat = await latencies(o.calls, async () => {
      const res = await fetch(`${stack.apiUrl}/v1/tenants/${stack.tenants[1]}/jobs`, { method: 'POST', headers, body });
      if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    });

    const p50 = (xs: number[]) => percentile(xs, 50);
    const p99 = (xs: number[]) => percentile(xs, 99);
    console.log(`\n${o.calls} sequential calls each; ${o.sessions} concurrent for ${o.seconds} s; 2 workers × 16 slots; ${stack.runs}`);
    console.log('| measure | p50 ms | p99 ms | calls/s |');
    console.log('|---|---|---|---|');
    console.log(`| bare MCP callTool | ${p50(bareLat).toFixed(2)} | ${p99(bareLat).toFixed(2)} | ${bareTput.toFixed(0)} |`);
    console.log(`| session execute (API → queue → worker) | ${p50(execLat).toFixed(2)} | ${p99(execLat).toFixed(2)} | ${execTput.toFixed(0)} |`);
    console.log(`| session create | ${p50(createLat).toFixed(2)} | ${p99(createLat).toFixed(2)} | |`);
    console.log(`| job submission | ${p50(submitLat).toFixed(2)} | ${p99(submitLat).toFixed(2)} | |`);
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    console.log(`\nCPU ms per call at ${o.sessions} concurrent (client: this process, the load's own HTTP/MCP clients):`);
    console.log(`| run | ${Object.keys(execCpu).join(' | ')} | total |`);
    console.log(
      `|---|${Object.keys(execCpu)
        .map(() => '---|')
        .join('')}---|`,
    );
    for (const [name, c] of [
      ['bare', bareCpu],
      ['session execute', execCpu],
    ] as const) {
      console.log(
        `| ${name} | ${Object.values(c)
          .map((v) => v.toFixed(3))
          .join(' | ')} | ${total(c).toFixed(3)} |`,
      );
    }
    console.log(`\nexecute p50 ÷ bare callTool p50: ${(p50(execLat) / p50(bareLat)).toFixed(2)} (goal ≤ 5)`);
    console.log(`throughput at ${o.sessions} sessions ÷ bare: ${(execTput / bareTput).toFixed(2)} (goal ≥ 0.3)`);
    console.log(`session create p50 ÷ job submission p50: ${(p50(createLat) / p50(submitLat)).toFixed(2)} (goal ≤ 2)`);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack.close();
  }
}
