import { audit, waitTerminal } from '../audit';
import { sharedProblems } from '../drill-result';
import type { DrillResult } from '../drill-result';
import { runLoad } from '../load';
import { startStack } from '../stack';

export interface ApiCrashOptions {
  jobs: number;
  tenants: number;
  /**
   * The API process is SIGKILLed once this many requests were accepted, then restarted: mid-load
   * however fast the API answers (a fixed delay let a faster API finish the short drill first).
   */
  killAfterAccepted: number;
}

/**
 * Drill 2: the API process is SIGKILLed under load and restarted. Every request that got a 202
 * has its job; every request left without a response is retried with its Idempotency-Key and
 * yields exactly one job (one row per logical request, never two).
 */
export async function apiCrash(opts: ApiCrashOptions): Promise<DrillResult> {
  const t0 = Date.now();
  const stack = await startStack({ label: 'apicrash', tenants: opts.tenants, workers: 1, workerSlots: 16 });
  try {
    let killer: Promise<void> | undefined;
    const onAccepted = (n: number) => {
      if (n !== opts.killAfterAccepted) return;
      killer = stack.restartApi();
      // Awaited once the load ends; until then a failure must not count as unhandled.
      killer.catch(() => undefined);
    };
    const load = await runLoad(stack, { jobs: opts.jobs, concurrency: 16, retry: 'same-key', retryDelayMs: 200, onAccepted });
    if (!killer) throw new Error(`api crash drill: the load ended before ${opts.killAfterAccepted} requests were accepted`);
    await killer;
    await waitTerminal(stack.db, load.accepted, 120_000);
    const counts = await audit(stack, load.accepted);
    const rows = await stack.db.selectFrom('jobs').select(['idempotency_key']).execute();
    const noResponse = load.attempts.filter((a) => a.status === 0).length;
    const statuses = new Map<number, number>();
    for (const a of load.attempts) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    const problems = sharedProblems(counts);
    // Every logical request ends as exactly one job: retries of unanswered requests never add a second.
    const duplicateJobs = rows.length - new Set(rows.map((r) => r.idempotency_key)).size + Math.max(0, rows.length - opts.jobs);
    if (duplicateJobs) problems.push(`${duplicateJobs} duplicate jobs after retries`);
    if (rows.length !== load.accepted.size) problems.push(`${rows.length} job rows for ${load.accepted.size} accepted requests`);
    if (load.gaveUp) problems.push(`${load.gaveUp} requests never accepted after the restart`);
    if (noResponse === 0) problems.push('no request was cut off by the crash (drill too gentle)');
    return {
      name: 'api crash',
      ...counts,
      duplicated: counts.duplicated + duplicateJobs,
      notes: { requests_without_response: noResponse, job_rows: rows.length, statuses: [...statuses].map(([s, n]) => `${s}:${n}`).join(' ') },
      problems,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await stack.close();
  }
}
