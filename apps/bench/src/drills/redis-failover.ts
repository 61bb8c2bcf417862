import { audit, waitTerminal } from '../audit';
import { sharedProblems } from '../drill-result';
import type { DrillResult } from '../drill-result';
import { runLoad } from '../load';
import { startStack } from '../stack';
import { tenantBullPrefix } from '@agents/queue';

export interface FailoverOptions {
  /** Jobs submitted. */
  jobs: number;
  tenants: number;
  /** The master is killed this long after the load starts (ms). */
  killAfterMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Drill 7 (issue 21): two worker processes run two-step workflow jobs (50 ms per provider call) on
 * a private Redis Cluster (3 masters + 3 replicas) while the master serving the first tenant's
 * queue is SIGKILLed mid-load; the cluster promotes its replica (cluster-node-timeout 2 s). What
 * the dead master had acknowledged but not yet replicated is gone (replication is asynchronous):
 * the job rows in Postgres are the truth and the reconciler re-adds what the queue lost, the
 * checkpoints keep a re-run from repeating a tool call. Afterwards every accepted job succeeded,
 * no provider object exists twice and usage equals executed calls. Reported, from the kill: the
 * promotion, the first job of that tenant accepted, and the first of those done (time to recover).
 */
export async function redisFailover(opts: FailoverOptions): Promise<DrillResult> {
  const t0 = Date.now();
  const stack = await startStack({
    label: 'failover',
    tenants: opts.tenants,
    workers: 2,
    workerSlots: 16,
    callLatencyMs: 50,
    redisCluster: true,
    // A private Postgres: the rollup's watermark waits for the oldest open transaction of the whole
    // server, and on a shared one that may be anyone's.
    ownPostgres: true,
    env: { JOB_ATTEMPTS: '10' },
  });
  const cluster = stack.cluster!;
  const problems: string[] = [];
  const victimTenant = stack.tenants[0]!;
  let killedAt = 0;
  let promotedAt = 0;
  let victim: number | undefined;
  let promoted: number | undefined;
  try {
    victim = await cluster.ownerOf(tenantBullPrefix(stack.redisPrefix, victimTenant));
    if (victim === undefined) throw new Error('no master serves the first tenant');
    const before = new Set(await cluster.masterPorts());
    const failover = (async () => {
      await sleep(opts.killAfterMs);
      await cluster.kill(victim!);
      killedAt = Date.now();
      // Promoted: a node that was a replica is a master now, and every live node says the cluster is ok.
      while (Date.now() - killedAt < 60_000) {
        const masters = await cluster.masterPorts();
        promoted = masters.find((p) => !before.has(p));
        if (promoted !== undefined && (await cluster.clusterOk())) {
          promotedAt = Date.now();
          return;
        }
        await sleep(100);
      }
    })();
    // Submissions go on through the failover: a request refused while the shard has no master is
    // retried with its Idempotency-Key, as a client without a response must.
    const load = await runLoad(stack, {
      jobs: opts.jobs,
      concurrency: 8,
      retry: 'same-key',
      retryDelayMs: 200,
      deadlineMs: opts.killAfterMs + 120_000,
      paceMs: 20,
    });
    await failover;
    await waitTerminal(stack.db, load.accepted, 180_000);
    const counts = await audit(stack, load.accepted);
    problems.push(...sharedProblems(counts));
    // The victim tenant's jobs submitted after the kill: the first accepted (202, its row), and the
    // first that ran to the end (its queue, on the promoted replica, serves again).
    const after = await stack.db
      .selectFrom('jobs')
      .select(['created_at', 'finished_at'])
      .where('tenant_id', '=', victimTenant)
      .where('created_at', '>', new Date(killedAt))
      .execute();
    const firstAfter = after.length ? Math.min(...after.map((r) => r.created_at.getTime())) : undefined;
    const finished = after.filter((r) => r.finished_at).map((r) => r.finished_at!.getTime());
    const firstDone = finished.length ? Math.min(...finished) : undefined;
    const refused = load.attempts.filter((a) => a.status !== 202);
    const notUnavailable = refused.filter((a) => a.status !== 503);
    if (!killedAt) problems.push('the master was never killed (drill too short)');
    if (!promotedAt) problems.push('no replica was promoted within 60 s of the kill');
    if (counts.completed !== counts.accepted) problems.push(`${counts.accepted - counts.completed} accepted jobs did not succeed`);
    if (load.gaveUp) problems.push(`${load.gaveUp} submissions never accepted`);
    if (notUnavailable.length)
      problems.push(`${notUnavailable.length} refusals were not 503 (statuses ${[...new Set(notUnavailable.map((a) => a.status))].join(',')})`);
    if (!firstAfter) problems.push(`no job of ${victimTenant} (on the killed master) was accepted after the kill`);
    return {
      name: 'redis failover',
      ...counts,
      notes: {
        killed_master: victim,
        promoted_replica: promoted ?? 'none',
        promoted_after_s: promotedAt ? ((promotedAt - killedAt) / 1000).toFixed(1) : 'never',
        tenant_accepted_after_s: firstAfter ? ((firstAfter - killedAt) / 1000).toFixed(1) : 'never',
        tenant_job_done_after_s: firstDone ? ((firstDone - killedAt) / 1000).toFixed(1) : 'never',
        refused_503: refused.length,
      },
      problems,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await stack.close();
  }
}
