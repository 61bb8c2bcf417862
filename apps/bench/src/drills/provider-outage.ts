import { audit, waitTerminal } from '../audit';
import { sharedProblems } from '../drill-result';
import type { DrillResult } from '../drill-result';
import { runLoad } from '../load';
import { startStack } from '../stack';

export interface ProviderOutageOptions {
  jobs: number;
  tenants: number;
  downAfterMs: number;
  downForMs: number;
}

/**
 * Drill 5: the provider (the sandbox MCP service) is stopped for a while under load. Jobs either
 * succeed (retried after it came back) or fail with a clear error code; a failed call is never
 * billed as a success and a successful one is billed once ("nothing half-billed").
 */
export async function providerOutage(opts: ProviderOutageOptions): Promise<DrillResult> {
  const t0 = Date.now();
  const stack = await startStack({ label: 'provout', tenants: opts.tenants, workers: 1, workerSlots: 16, callLatencyMs: 20 });
  try {
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, opts.downAfterMs));
      await stack.stopSandbox();
      await new Promise((r) => setTimeout(r, opts.downForMs));
      await stack.startSandbox();
    })();
    const load = await runLoad(stack, { jobs: opts.jobs, concurrency: 8, retry: 'same-key', durationMs: opts.downAfterMs + opts.downForMs, paceMs: 50 });
    await outage;
    await waitTerminal(stack.db, load.accepted, 180_000);
    // Once the provider is back, new work must succeed again (stale pooled MCP sessions recovered).
    const after = await runLoad(stack, { jobs: Math.max(20, Math.round(opts.jobs / 5)), concurrency: 8, retry: 'same-key' });
    await waitTerminal(stack.db, after.accepted, 60_000);
    const afterOk = await stack.db
      .selectFrom('jobs')
      .select('error')
      .where('id', 'in', [...after.accepted])
      .where('status', '!=', 'succeeded')
      .execute();
    const counts = await audit(stack, new Set([...load.accepted, ...after.accepted]));
    const failed = await stack.db.selectFrom('jobs').select(['error']).where('status', '=', 'failed').execute();
    const codes = new Map<string, number>();
    for (const f of failed) codes.set(f.error?.code ?? 'none', (codes.get(f.error?.code ?? 'none') ?? 0) + 1);
    const problems = sharedProblems(counts);
    if (afterOk.length)
      problems.push(
        `${afterOk.length} of ${after.accepted.size} jobs submitted after the provider came back did not succeed (${afterOk
          .map((j) => j.error?.code)
          .slice(0, 3)
          .join(', ')})`,
      );
    const unclear = [...codes].filter(([c]) => c === 'none' || c === 'internal');
    if (unclear.length) problems.push(`failed jobs without a clear error code: ${unclear.map(([c, n]) => `${c}:${n}`).join(', ')}`);
    const toolFailures = await stack.db
      .selectFrom('usage_events')
      .select(['error_code', (eb) => eb.fn.countAll<number>().as('n')])
      .where('kind', '=', 'tool_call')
      .where('success', '=', false)
      .groupBy('error_code')
      .execute();
    return {
      name: 'provider outage',
      ...counts,
      notes: {
        after_recovery: `${after.accepted.size - afterOk.length}/${after.accepted.size} succeeded`,
        failure_codes: [...codes].map(([c, n]) => `${c}:${n}`).join(' ') || 'none',
        failed_tool_call_events: toolFailures.map((f) => `${f.error_code}:${f.n}`).join(' ') || 'none',
      },
      problems,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await stack.close();
  }
}
