/**
 * Ingress benchmark (issue #11): `npx tsx scripts/bench/ingress.ts [seconds=10] [connections=50] [tenants=10]`
 *
 * autocannon against ONE API process (the built bundle apps/api/dist/main.js, a child process) doing the real
 * `POST /v1/tenants/{tid}/jobs`: tenant API-key auth, zod validation, the Redis rate-limit check,
 * the quota check, an Idempotency-Key per request, the job row, the BullMQ enqueue. Baseline in
 * the same run, on the same Postgres, Redis and machine: a bare Express process that does one
 * Postgres insert and one BullMQ add per request (apps/bench/src/bare-ingress.ts), bundled and run
 * under plain Node like the API. Prints req/s, p50/p99 latency, CPU per request of the server process (from /proc) and the ratios.
 */
import autocannon from 'autocannon';
import { helperEntry } from '../bundles';
import { spawnEntry } from '../child-process';
import { cpuSeconds } from '../proc-cpu';
import { sparePort } from '@agents/testkit';
import { OPERATOR_KEY, startStack, workflowBody } from '../stack';
import type { Stack } from '../stack';

export interface IngressBenchOptions {
  seconds: number;
  connections: number;
  tenants: number;
}

export interface IngressRun {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpuMsPerReq: number;
}

/**
 * One measured autocannon run of job submissions (after a 2 s warm-up), with the CPU the server
 * process `pid` spent on it. `keys`: each tenant's API key (null: the bare server needs none).
 */
export async function loadIngress(
  o: IngressBenchOptions,
  name: string,
  url: string,
  pid: number,
  tenants: string[],
  keys: Map<string, string> | null,
): Promise<IngressRun> {
  let n = 0;
  const body = JSON.stringify(workflowBody('bench'));
  const requests = [
    {
      method: 'POST' as const,
      setupRequest: (req: any) => {
        const t = tenants[n % tenants.length]!;
        n++;
        req.path = `/v1/tenants/${t}/jobs`;
        req.headers = {
          'content-type': 'application/json',
          'idempotency-key': `${name}-${process.pid}-${n}`,
          ...(keys ? { authorization: `Bearer ${keys.get(t)}` } : {}),
        };
        req.body = body;
        return req;
      },
    },
  ];
  // Warm-up (JIT, pools, per-tenant queues), not measured.
  await autocannon({ url, connections: o.connections, duration: 2, requests });
  const cpu0 = cpuSeconds(pid);
  const r = await autocannon({ url, connections: o.connections, duration: o.seconds, requests });
  const cpu = cpuSeconds(pid) - cpu0;
  const ok = r.requests.total - r.non2xx;
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    cpuMsPerReq: (cpu * 1000) / Math.max(1, ok),
  };
}

/** A live tenant key for each of the stack's tenants (the load authenticates as a tenant would). */
export async function issueLiveKeys(stack: Stack): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const t of stack.tenants) {
    const r = await fetch(`${stack.apiUrl}/v1/admin/tenants/${t}/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'live', name: 'bench' }),
    });
    if (r.status !== 201) throw new Error(`api key for ${t}: ${r.status} ${await r.text()}`);
    keys.set(t, ((await r.json()) as { key: string }).key);
  }
  return keys;
}

/** Runs the ingress benchmark and prints its table and ratios. */
export async function runIngressBench(o: IngressBenchOptions): Promise<{ runs: IngressRun[]; ratio: number }> {
  const stack: Stack = await startStack({ label: 'ingress', tenants: o.tenants, workers: 0, env: { LOG_LEVEL: 'warn' }, bundles: true });
  console.log(`ingress: ${stack.runs}`);
  const port = await sparePort();
  const baseline = spawnEntry(helperEntry('bare-ingress-main', true), {}, [stack.dbUrl, stack.redisUrl, 'bare', String(port)]);
  try {
    const keys = await issueLiveKeys(stack);
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = await loadIngress(o, 'bare', `http://127.0.0.1:${port}`, baseline.pid, stack.tenants, null);
    const ours = await loadIngress(o, 'api', stack.apiUrl, stack.api.pid, stack.tenants, keys);
    const base2 = await loadIngress(o, 'bare2', `http://127.0.0.1:${port}`, baseline.pid, stack.tenants, null);
    const rows = [base, ours, base2];
    console.log(`\nconnections ${o.connections}, ${o.seconds} s per run, ${o.tenants} tenants; ${stack.runs}`);
    console.log('| run | req/s | p50 ms | p99 ms | non-2xx | errors | server CPU ms/req |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.cpuMsPerReq.toFixed(3)} |`);
    const baseRps = (base.rps + base2.rps) / 2;
    const baseCpu = (base.cpuMsPerReq + base2.cpuMsPerReq) / 2;
    console.log(`\nthroughput ratio api ÷ bare baseline (mean of the runs before and after): ${(ours.rps / baseRps).toFixed(2)} (goal ≥ 0.9)`);
    console.log(`CPU per request ratio api ÷ bare: ${(ours.cpuMsPerReq / baseCpu).toFixed(2)}`);
    return { runs: rows, ratio: ours.rps / baseRps };
  } finally {
    await baseline.stop('SIGKILL');
    await stack.close();
  }
}
