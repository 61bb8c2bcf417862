import { audit, waitTerminal } from '../audit';
import { sharedProblems } from '../drill-result';
import type { DrillResult } from '../drill-result';
import { runLoad } from '../load';
import { startStack } from '../stack';

export interface WorkerCrashStormOptions {
  /** Jobs submitted (the full drill: 2,000). */
  jobs: number;
  tenants: number;
  /** A random worker is SIGKILLed and replaced this often (ms). */
  killEveryMs: number;
}

/**
 * Drill 1: two worker processes run two-step workflow jobs (50 ms per provider call) while a random
 * one is SIGKILLed and replaced every `killEveryMs`. Afterwards every accepted job is terminal, no
 * provider object exists twice, and usage equals executed calls (and rollups equal events).
 */
export async function workerCrashStorm(opts: WorkerCrashStormOptions): Promise<DrillResult> {
  const t0 = Date.now();
  const stack = await startStack({ label: 'crash', tenants: opts.tenants, workers: 2, workerSlots: 16, callLatencyMs: 50, env: { JOB_ATTEMPTS: '10' } });
  let kills = 0;
  let storming = true;
  try {
    const storm = (async () => {
      while (storming) {
        await new Promise((r) => setTimeout(r, opts.killEveryMs));
        if (!storming) break;
        const live = stack.workers.filter((w) => w.alive());
        const victim = live[Math.floor(Math.random() * live.length)];
        if (victim) {
          await victim.stop('SIGKILL');
          kills++;
        }
        // The replacement must be up before the next kill, or on a loaded machine (a worker takes
        // seconds to start) the storm would kill workers that never got to run anything.
        await stack
          .spawnWorker()
          .waitForOutput(/worker started/, 60_000)
          .catch(() => undefined);
      }
    })();
    const load = await runLoad(stack, { jobs: opts.jobs, concurrency: 16, retry: 'same-key' });
    // Keep killing until the backlog has drained (or nothing moved for a minute: then it is reported).
    let last = -1;
    let lastMove = Date.now();
    for (;;) {
      const r = await stack.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirstOrThrow();
      const open = Number(r.n);
      if (open === 0 || Date.now() - lastMove > 60_000) break;
      if (open !== last) {
        last = open;
        lastMove = Date.now();
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    storming = false;
    await storm;
    await waitTerminal(stack.db, load.accepted, 30_000);
    const counts = await audit(stack, load.accepted);
    const attempts = await stack.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.sum<number>('attempts').as('n'))
      .executeTakeFirstOrThrow();
    const problems = sharedProblems(counts);
    if (load.gaveUp) problems.push(`${load.gaveUp} submissions never accepted`);
    if (kills === 0) problems.push('no worker was killed (drill too short)');
    return { name: 'worker crash storm', ...counts, notes: { kills, job_attempts: Number(attempts.n) }, problems, seconds: (Date.now() - t0) / 1000 };
  } finally {
    storming = false;
    await stack.close();
  }
}
