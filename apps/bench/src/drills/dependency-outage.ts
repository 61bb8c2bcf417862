import { audit, waitTerminal } from '../audit';
import { sharedProblems } from '../drill-result';
import type { DrillResult } from '../drill-result';
import { percentile, runLoad } from '../load';
import type { Submission } from '../load';
import { startStack } from '../stack';
import type { Stack } from '../stack';

export interface OutageOptions {
  jobs: number;
  tenants: number;
  /** The dependency goes down this long after the load starts (ms)… */
  downAfterMs: number;
  /** …and stays down this long (ms). */
  downForMs: number;
}

/** A 503 must come fast: well under the client's patience (ms). */
const FAST_MS = 2_000;

/**
 * Drills 3 and 4: Redis (or Postgres) is stopped under load and started again. While it is down
 * the API answers 503 service_unavailable fast (no hang, no 500) and /readyz is 503; a 503 leaves
 * no row (each refused attempt's Idempotency-Key is checked); workers reconnect; every job
 * accepted before, during and after completes.
 */
export async function dependencyOutage(dep: 'redis' | 'postgres', opts: OutageOptions): Promise<DrillResult> {
  const t0 = Date.now();
  const stack = await startStack({
    label: `${dep}out`,
    tenants: opts.tenants,
    workers: 2,
    workerSlots: 16,
    callLatencyMs: 20,
    ownPostgres: dep === 'postgres',
  });
  const target = dep === 'redis' ? stack.redis : stack.postgres;
  // The outage is of the stack's own server (on a Cluster, the failover drill is the outage).
  if (!target) throw new Error(`the ${dep} outage drill needs its own ${dep} server (not a shared Redis Cluster)`);
  let downAt = 0;
  let upAt = 0;
  const readyz: number[] = [];
  try {
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, opts.downAfterMs));
      await target.stop();
      downAt = Date.now();
      const until = downAt + opts.downForMs;
      while (Date.now() < until) {
        readyz.push(await probe(stack));
        await new Promise((r) => setTimeout(r, 300));
      }
      await target.start();
      upAt = Date.now();
    })();
    const load = await runLoad(stack, {
      jobs: opts.jobs,
      concurrency: 8,
      retry: 'new-key',
      retryDelayMs: 100,
      deadlineMs: opts.downAfterMs + opts.downForMs + 120_000,
      durationMs: opts.downAfterMs + opts.downForMs + 2_000,
      paceMs: 50,
    });
    await outage;
    await waitTerminal(stack.db, load.accepted, 180_000);
    const counts = await audit(stack, load.accepted);
    const during = load.attempts.filter((a) => a.status !== 202);
    const refused = load.attempts.filter((a) => a.status === 503);
    const rows = await stack.db.selectFrom('jobs').select(['idempotency_key']).execute();
    const keysWithRow = new Set(rows.map((r) => r.idempotency_key));
    const halfWritten = refused.filter((a) => keysWithRow.has(a.idempotencyKey)).length;
    const bad = during.filter((a) => a.status !== 503 || a.code !== 'service_unavailable');
    const slow503 = refused.filter((a) => a.ms > FAST_MS).length;
    // A request that started while the dependency was down must not wait for it to come back.
    const hung = load.attempts.filter((a) => a.ms > FAST_MS).length;
    const problems = sharedProblems(counts);
    if (counts.completed !== counts.accepted) problems.push(`${counts.accepted - counts.completed} accepted jobs did not succeed`);
    if (halfWritten) problems.push(`${halfWritten} requests answered 503 left a job row`);
    if (bad.length) problems.push(`${bad.length} refusals were not 503 service_unavailable (${summary(bad)})`);
    if (slow503) problems.push(`${slow503} 503s took longer than ${FAST_MS} ms`);
    if (hung) problems.push(`${hung} requests took longer than ${FAST_MS} ms (hung on the outage)`);
    if (!readyz.length || readyz.some((s) => s !== 503)) problems.push(`/readyz while down: ${readyz.join(',') || 'never probed'} (want all 503)`);
    if ((await probe(stack)) !== 200) problems.push('/readyz not 200 after recovery');
    if (load.gaveUp) problems.push(`${load.gaveUp} requests never accepted`);
    if (!refused.length) problems.push('no request was refused (the outage did not overlap the load)');
    return {
      name: `${dep} outage`,
      ...counts,
      notes: {
        down_s: ((upAt - downAt) / 1000).toFixed(1),
        refused_503: refused.length,
        p99_503_ms: percentile(
          refused.map((a) => a.ms),
          99,
        ).toFixed(0),
        max_503_ms: Math.max(0, ...refused.map((a) => a.ms)).toFixed(0),
        half_written: halfWritten,
        slower_than_2s: hung,
        readyz_while_down: [...new Set(readyz)].join('/'),
      },
      problems,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await stack.close();
  }
}

async function probe(stack: Stack): Promise<number> {
  try {
    const r = await fetch(`${stack.apiUrl}/readyz`, { signal: AbortSignal.timeout(3000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

function summary(xs: Submission[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(`${x.status}${x.code ? ` ${x.code}` : ''}`, (m.get(`${x.status}${x.code ? ` ${x.code}` : ''}`) ?? 0) + 1);
  return [...m].map(([k, n]) => `${k}: ${n}`).join(', ');
}
