/**
 * Poison-input profile (issue #11, drill 6): `npx tsx scripts/bench/poison-classes.ts [perClass=100] [normal=200]`
 *
 * One API process (plus a worker and the sandbox, as in the drill) on its own Redis and database.
 * Sends each hostile class of the poison drill alone, 8 in flight, and prints per class: the API's
 * CPU per request (/proc), its event-loop delay over the phase (perf_hooks.monitorEventLoopDelay,
 * preloaded into the API), and this client's own CPU per request, so the classes that cost the API
 * can be told apart from the ones that only cost the drill's generator. Then normal job traffic
 * alone and mixed with each class, for normal p99.
 */
import path from 'node:path';
import { cpuSeconds, percentile, runLoad, startStack } from '../../apps/bench/src';
import { HOSTILE_KINDS, slowClient } from '../../apps/bench/src/drills/poison-input';
import type { HostileKind } from '../../apps/bench/src/drills/poison-input';

const [PER_CLASS = 100, NORMAL = 200] = process.argv.slice(2).map(Number);

async function main() {
  const preload = path.resolve(__dirname, '../../apps/bench/src/loop-delay-preload.cjs');
  const stack = await startStack({
    label: 'poisonprof',
    tenants: 5,
    workers: 1,
    workerSlots: 16,
    env: { NODE_OPTIONS: `--require ${preload}` },
    bundles: true,
  });
  console.log(`poison-classes: ${stack.runs}`);
  const port = Number(new URL(stack.apiUrl).port);
  const api = stack.api;
  let pending: ((line: string) => void) | undefined;
  let buf = '';
  api.proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    const m = /LOOP_DELAY (\{.*\})\n/.exec(buf);
    if (m) {
      buf = buf.slice(m.index + m[0].length);
      pending?.(m[1]!);
    }
  });
  const loopDelay = () =>
    new Promise<{ p50: number; p99: number; max: number; mean: number }>((resolve) => {
      pending = (l) => resolve(JSON.parse(l));
      api.proc.kill('SIGUSR2');
    });

  const rows: string[][] = [];
  async function phase(name: string, n: number, run: () => Promise<number | undefined>) {
    await loopDelay();
    const apiCpu0 = cpuSeconds(api.pid);
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    const p99 = await run();
    const wall = performance.now() - t0;
    const own = process.cpuUsage(own0);
    const apiCpu = (cpuSeconds(api.pid) - apiCpu0) * 1000;
    const d = await loopDelay();
    rows.push([
      name,
      String(n),
      wall.toFixed(0),
      apiCpu.toFixed(0),
      (apiCpu / n).toFixed(2),
      ((own.user + own.system) / 1000 / n).toFixed(2),
      d.p99.toFixed(1),
      d.max.toFixed(1),
      p99 === undefined ? '-' : p99.toFixed(1),
    ]);
    console.log(rows.at(-1)!.join('\t'));
  }
  const hostileLanes = (kind: HostileKind, n: number) => {
    let next = 0;
    return Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < n; i = next++) await kind.send(port, stack.tenants[i % stack.tenants.length]!, i);
      }),
    );
  };
  const normal = async () => {
    const r = await runLoad(stack, { jobs: NORMAL, concurrency: 4, retry: 'same-key' });
    return percentile(
      r.attempts.filter((a) => a.status === 202).map((a) => a.ms),
      99,
    );
  };
  try {
    console.log(
      ['phase', 'requests', 'wall ms', 'api cpu ms', 'api cpu ms/req', 'client cpu ms/req', 'loop p99 ms', 'loop max ms', 'normal p99 ms'].join('\t'),
    );
    await phase('idle 2 s', 1, async () => (await new Promise((r) => setTimeout(r, 2000)), undefined));
    await phase('normal alone', NORMAL, normal);
    for (const kind of HOSTILE_KINDS) await phase(kind.name, PER_CLASS, async () => (await hostileLanes(kind, PER_CLASS), undefined));
    await phase('slowloris x20', 20, async () => (await Promise.all(Array.from({ length: 20 }, (_, i) => slowClient(port, stack.tenants[i % 5]!))), undefined));
    await phase('normal alone (again)', NORMAL, normal);
    for (const kind of HOSTILE_KINDS) {
      await phase(`normal + ${kind.name}`, NORMAL, async () => {
        let stop = false;
        let sent = 0;
        const bg = Promise.all(
          Array.from({ length: 8 }, async () => {
            while (!stop) await kind.send(port, stack.tenants[sent % 5]!, sent++);
          }),
        );
        const p = await normal();
        stop = true;
        await bg;
        return p;
      });
    }
  } finally {
    await stack.close();
  }
  console.log('\n| phase | requests | wall ms | api CPU ms | api CPU ms/req | client CPU ms/req | api loop delay p99 ms | max ms | normal p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
