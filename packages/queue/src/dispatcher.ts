import { randomUUID } from 'node:crypto';
import type { Job as BullJob } from 'bullmq';
import type { RedisConnection } from './redis';
import type { Logger } from '@agents/observability';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from './names';
import { countPendingEntries, createTenantQueueWorker } from './bullmq-internals';
import type { TenantQueueWorker } from './bullmq-internals';
import { createSlotPolicy } from './slot-policy';

export interface RunContext {
  /** Aborted on cancel request, lost lock or shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  tenantId: string;
  /** BullMQ attempts made before this one (0 on the first run). */
  attemptsMade: number;
  maxAttempts: number;
  /**
   * Set when BullMQ's stalled check found this job's lock gone more than `maxStalledCount` times
   * (its worker died or hung while running it each time). BullMQ's own Worker fails such a job
   * without running it; a handler here must do the same (record why, then throw an
   * UnrecoverableError) so that a job that kills its worker cannot take the fleet down forever.
   */
  stalledOut?: string;
}

export type RunHandler = (job: BullJob, ctx: RunContext) => Promise<unknown>;

export interface DispatcherOptions {
  /** Command connection shared by every tenant Worker (no blocking connection per tenant). */
  redis: RedisConnection;
  /** A second connection in subscriber mode (activations and cancellations). */
  subscriber: RedisConnection;
  redisPrefix: string;
  /** Jobs this process runs at once, over all tenants. */
  slots: number;
  /** BullMQ lock duration (ms); renewed every lockMs/2 while a job runs. */
  lockMs: number;
  /** Period of the stalled-job check per known tenant queue (ms). */
  stalledCheckMs: number;
  /** Safety-net re-read of the active-tenant set (ms), in case a pub/sub message was missed. */
  rescanMs?: number;
  /**
   * A tenant Worker object unused this long is closed (ms), which also stops its stalled-check
   * timer; it is recreated on the next activation. Default 60 000: long enough to keep a Worker
   * across a busy tenant's bursts, short enough that tenants that went quiet cost nothing.
   */
  idleWorkerTtlMs?: number;
  /**
   * Headroom: at most this many free slots are kept for tenants that were announced (activation
   * message) within the last `reserveWindowMs` and hold no slot or have no backlog in this process,
   * plus one for a tenant not seen yet while there are any (the slot policy's heldBack). The tenant
   * that already holds the most slots here may not take a slot that would leave fewer free than that.
   * Default a quarter of `slots` (rounded down), as WORKER_RESERVED_SLOTS; 0 disables it; must be
   * below `slots`.
   */
  reservedSlots?: number;
  /** How long an activation message counts as "recently active" for the headroom (ms). Default 10 000, as FAIR_RESERVE_WINDOW_MS. */
  reserveWindowMs?: number;
  handler: RunHandler;
  /** Told when an attempt starts and ends (metrics); must not throw. */
  observer?: DispatchObserver;
  logger: Logger;
}

/** How an attempt left this process: completed (handler returned), failed (threw), handed_back (shutdown). */
export type AttemptEnd = 'completed' | 'failed' | 'handed_back';

export interface DispatchObserver {
  started(job: BullJob, tenantId: string): void;
  /** `runMs` is the attempt's wall clock in this process; `result` is the handler's return value when completed, its error when failed. */
  finished(job: BullJob, tenantId: string, end: AttemptEnd, runMs: number, result: unknown): void;
}

export interface DispatcherStats {
  running: number;
  /** Fetches in flight (each holds a slot until it yields a job or nothing). */
  fetching: number;
  activeTenants: number;
  knownTenants: number;
}

export interface Dispatcher {
  start(): Promise<void>;
  /** Aborts a running job of this process, if it has it. */
  cancel(jobId: string): boolean;
  stats(): DispatcherStats;
  /** Stops taking work, waits up to graceMs for running jobs, then hands the rest back to the queue. */
  close(graceMs: number): Promise<void>;
}

interface Running {
  job: BullJob;
  token: string;
  tenantId: string;
  controller: AbortController;
  done: Promise<void>;
  /** The handler has returned or thrown: the lock is about to be released by the finish itself. */
  finishing: boolean;
}

interface TenantWorker {
  worker: TenantQueueWorker;
  lastUsed: number;
}

export class ShutdownAbort extends Error {
  readonly code = 'shutdown';
}

/**
 * The run's lock expired before it could be renewed (the process was starved or cut off from
 * Redis for longer than the lock): the stalled check hands the job to another run, so this one
 * stops without recording anything on the queue entry.
 */
export class LockLost extends Error {
  readonly code = 'lock_lost';
}

/**
 * Fair dispatcher (DESIGN.md decision 1), the Redis side: a fixed number of slots per process, which
 * tenant gets each one decided by the slot policy (slot-policy.ts). This file does what the policy
 * decides: fetches (BullMQ's moveToActive, which enforces each tenant queue's global concurrency, so
 * a tenant at its cap yields no job and the slot goes to the next tenant), runs, finishes, lock
 * renewal, announcements on the activation channel, the active-tenant set and its rescan. Waiting
 * for work is a pub/sub wake-up, never a poll per tenant. BullMQ internals: bullmq-internals.ts.
 */
export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const keys = coordinationKeys(opts.redisPrefix);
  const log = opts.logger;
  const rescanMs = opts.rescanMs ?? 5_000;
  const idleTtl = opts.idleWorkerTtlMs ?? 60_000;
  const policy = createSlotPolicy({ slots: opts.slots, reservedSlots: opts.reservedSlots, reserveWindowMs: opts.reserveWindowMs, now: Date.now });
  const workers = new Map<string, TenantWorker>();
  // Keyed by the run's lock token, not the job id: after a lost lock the same job can briefly have
  // two runs in this process (the old one until its renewal notices, the new one the stalled
  // check handed it to), and each must keep its own entry.
  const running = new Map<string, Running>();
  // Fetches in flight (each holds a slot the policy gave it until it yields a job or nothing).
  const fetches = new Set<Promise<void>>();
  // After a failed fetch (Redis unreachable) no new fetch starts before this time.
  let fetchPausedUntil = 0;
  // One timer for the moment a held-back slot is to be offered again (a recently active tenant ages out).
  let reserveTimer: NodeJS.Timeout | undefined;
  let closing = false;
  let timers: NodeJS.Timeout[] = [];

  function workerFor(tenantId: string): TenantQueueWorker {
    let tw = workers.get(tenantId);
    if (!tw) {
      const worker = createTenantQueueWorker(tenantQueueName(tenantId), {
        connection: opts.redis,
        prefix: tenantBullPrefix(opts.redisPrefix, tenantId),
        lockMs: opts.lockMs,
        stalledCheckMs: opts.stalledCheckMs,
        // A job whose worker died is run again, twice; a third stall hands it to the handler as
        // `stalledOut` (BullMQ's deferred failure), which fails it for good.
        maxStalledCount: 2,
      });
      worker.on('error', (err) => log.warn({ err, tenant_id: tenantId }, 'tenant worker error'));
      // The stalled check moved a dead (or starved) run's job back to wait: announce the tenant
      // everywhere now rather than at the next rescan, and make sure it is in the recovery set.
      worker.on('stalled', (jobId) => {
        log.warn({ tenant_id: tenantId, job_id: jobId }, 'job stalled (its run lost its lock); back to wait');
        void announce(tenantId);
      });
      // Recovers jobs of this tenant whose worker died (lock expired) and moves them back to wait.
      void worker.startStalledCheckTimer().catch((err) => log.warn({ err, tenant_id: tenantId }, 'stalled check failed'));
      tw = { worker, lastUsed: Date.now() };
      workers.set(tenantId, tw);
    }
    tw.lastUsed = Date.now();
    return tw.worker;
  }

  function activate(tenantId: string): void {
    if (closing) return;
    workerFor(tenantId);
    policy.activate(tenantId);
    pump();
  }

  /** Puts a tenant back in the recovery set and tells every process (this one included) it has work. */
  async function announce(tenantId: string): Promise<void> {
    activate(tenantId);
    await opts.redis
      .multi()
      .sadd(keys.activeTenants, tenantId)
      .publish(keys.activationChannel, tenantId)
      .exec()
      .catch((err) => log.warn({ err, tenant_id: tenantId }, 'could not announce tenant; the next rescan will'));
  }

  function armReserveTimer(ms: number): void {
    if (reserveTimer) clearTimeout(reserveTimer);
    reserveTimer = setTimeout(() => {
      reserveTimer = undefined;
      pump();
    }, ms);
    reserveTimer.unref();
  }

  /**
   * Hands out free slots: each goes to the tenant the policy picks, and the fetch for it starts at
   * once, so that several tenants announced together are fetched in one round trip, not one after
   * another. A tenant whose fetch yields no job leaves the ring until it is announced again (a job
   * enqueued, or one of its jobs finished somewhere).
   */
  function pump(): void {
    while (!closing && Date.now() >= fetchPausedUntil) {
      const claim = policy.claim();
      if (claim.kind === 'held') armReserveTimer(claim.retryInMs);
      if (claim.kind !== 'fetch') return;
      const { tenantId, seen } = claim;
      const f = fetchFor(tenantId, seen).catch((err) => log.error({ err, tenant_id: tenantId }, 'dispatcher fetch failed'));
      fetches.add(f);
      void f.finally(() => fetches.delete(f));
    }
  }

  async function fetchFor(tenantId: string, seen: number | undefined): Promise<void> {
    const token = randomUUID();
    let job: BullJob | undefined;
    let failed = false;
    try {
      job = await workerFor(tenantId).getNextJob(token, { block: false });
    } catch (err) {
      failed = true;
      log.warn({ err, tenant_id: tenantId }, 'fetching a job failed; retrying in a second');
      fetchPausedUntil = Date.now() + 1000;
      // A little past the pause: a timer may fire a millisecond before Date.now() reaches it.
      setTimeout(pump, 1010).unref();
    }
    const dropped = policy.fetchEnded(tenantId, job ? 'job' : failed ? 'failed' : 'empty', seen);
    if (job && closing) {
      await handBack(job, token);
      return;
    }
    if (job) launch(job, token, tenantId);
    else if (dropped) retire(tenantId);
    pump();
  }

  function retire(tenantId: string): void {
    void retireIfDrained(tenantId).catch((err) => log.warn({ err, tenant_id: tenantId }, 'active-tenant bookkeeping failed'));
  }

  /**
   * Drops a tenant from the recovery set once its queue holds nothing that needs a worker
   * (waiting, prioritized, delayed or active), so that drained tenants are not re-fetched by every
   * rescan. Remove first, then look: a producer that adds a job after our look also adds the tenant
   * back after our removal (enqueueRun does SADD after the add), and a job added before our look is
   * seen by it. Active jobs keep the tenant listed so that a crashed worker's jobs are found by the
   * stalled check of whichever process rescans it. Two separate commands rather than one script:
   * the set and the tenant's queue keys live in different Redis Cluster slots.
   */
  async function retireIfDrained(tenantId: string): Promise<void> {
    if ((await opts.redis.srem(keys.activeTenants, tenantId)) === 0) return;
    const pending = await countPendingEntries(opts.redis, tenantBullPrefix(opts.redisPrefix, tenantId), tenantQueueName(tenantId));
    if (pending > 0) await opts.redis.sadd(keys.activeTenants, tenantId);
  }

  function launch(job: BullJob, token: string, tenantId: string): void {
    const controller = new AbortController();
    const entry: Running = { job, token, tenantId, controller, done: Promise.resolve(), finishing: false };
    running.set(token, entry);
    policy.runStarted(tenantId);
    entry.done = (async () => {
      const startedAt = Date.now();
      let end: AttemptEnd = 'failed';
      let result: unknown;
      // Set when the finish asked for this tenant's next job (keepsItsSlot); `next` is what it got.
      let askedNext = false;
      let seen: number | undefined;
      let next: BullJob | undefined;
      opts.observer?.started(job, tenantId);
      try {
        try {
          result = await opts.handler(job, {
            signal: controller.signal,
            tenantId,
            attemptsMade: job.attemptsMade,
            maxAttempts: job.opts.attempts ?? 1,
            stalledOut: job.deferredFailure || undefined,
          });
        } finally {
          entry.finishing = true;
        }
        end = 'completed';
        // The finish asks BullMQ for the tenant's next job in the same script, as BullMQ's own
        // Worker does, when the policy would give the freed slot straight back to this tenant: one
        // round trip instead of a finish, an activation to every process and a fetch.
        const ask = !closing && policy.keepsItsSlot(tenantId);
        seen = policy.activationMark(tenantId);
        const reply = await job.moveToCompleted(result ?? null, token, ask);
        // Only a finish that went through asked: a failed one is announced like any other end.
        askedNext = ask;
        if (askedNext) {
          // Locked under our token by the finish script; if it cannot be read here, its lock
          // expires and the stalled check hands it to a run.
          next = await workerFor(tenantId)
            .jobFromReply(reply, token)
            .catch((err) => void log.warn({ err, tenant_id: tenantId }, 'could not read the next job; the stalled check will hand it on'));
        }
      } catch (err) {
        if (controller.signal.reason instanceof ShutdownAbort) {
          end = 'handed_back';
          // Cut off by shutdown: hand it back untouched so another process resumes it.
          await handBack(job, token);
        } else if (controller.signal.reason instanceof LockLost) {
          // Our token no longer owns the entry: the stalled check returns it to wait (or already
          // did, and another run has it). Nothing to record; not an attempt.
          end = 'handed_back';
        } else {
          result = err;
          await job
            .moveToFailed(err instanceof Error ? err : new Error(String(err)), token, false)
            .catch((e) => log.warn({ err: e, job_id: job.id }, 'could not record failure; stalled check will retry'));
        }
      } finally {
        running.delete(token);
        policy.runEnded(tenantId);
        opts.observer?.finished(job, tenantId, end, Date.now() - startedAt, result);
        await afterRun(tenantId, token, askedNext, seen, next);
      }
    })();
  }

  /** Returns a job this process holds (under `token`) to wait untouched, for another run to take. */
  async function handBack(job: BullJob, token: string): Promise<void> {
    await job.moveToWait(token).catch((err) => log.warn({ err, job_id: job.id }, 'could not hand job back; stalled check will'));
  }

  /** What a slot does once its run has ended (see launch). */
  async function afterRun(tenantId: string, token: string, askedNext: boolean, seen: number | undefined, next: BullJob | undefined): Promise<void> {
    if (next && closing) {
      // Shutdown began during the finish: hand the job it fetched back untouched.
      await handBack(next, token);
      return;
    }
    if (next) {
      // The finish handed us the tenant's next job: it runs in the same slot, under the same lock
      // token, and the tenant's count of running jobs is unchanged, so nobody needs telling.
      launch(next, token, tenantId);
      return;
    }
    if (askedNext) {
      // Asked, and the tenant had nothing to run (empty, or at its cap with the cap held by runs
      // that announce it when they end): leave the ring, as after an empty fetch, and give the
      // slot to the others.
      if (policy.dropUnlessAnnounced(tenantId, seen)) retire(tenantId);
      pump();
      return;
    }
    // The freed slot may unblock this tenant (it was at its cap) anywhere: tell every process.
    // Refill the slot here first rather than after the publish's round trip.
    const told = opts.redis.publish(keys.activationChannel, tenantId).catch(() => undefined);
    activate(tenantId);
    await told;
  }

  /**
   * Renews every running job's lock, all at once (one pipelined round trip, so a slow Redis or a
   * busy process delays them all by one trip, not by one trip per job). extendLock answers 0,
   * without throwing, when the lock is gone (expired while this process was starved, or taken by
   * the stalled check): the run is aborted, since the job is being, or about to be, run elsewhere.
   */
  async function renewLocks(): Promise<void> {
    await Promise.all(
      [...running.values()].map(async (r) => {
        let held: boolean;
        try {
          held = (await r.job.extendLock(r.token, opts.lockMs)) === 1;
        } catch (err) {
          // Redis unreachable: the lock may still be ours; the next renewal decides.
          log.warn({ err, job_id: r.job.id }, 'could not renew a job lock; retrying at the next renewal');
          return;
        }
        if (!held && !r.finishing && !r.controller.signal.aborted) {
          log.warn({ job_id: r.job.id, tenant_id: r.tenantId }, 'lock lost; aborting this run (the stalled check hands the job to another run)');
          r.controller.abort(new LockLost('lock lost'));
        }
      }),
    );
  }

  async function rescan(): Promise<void> {
    const tenants = await opts.redis.smembers(keys.activeTenants);
    for (const t of tenants) activate(t);
    policy.forgetStale();
    // Forget idle tenant Workers so that thousands of tenants cost nothing once quiet.
    const now = Date.now();
    for (const [tid, tw] of workers) {
      if (now - tw.lastUsed > idleTtl && !policy.inRing(tid) && ![...running.values()].some((r) => r.tenantId === tid)) {
        workers.delete(tid);
        void tw.worker.close().catch(() => undefined);
      }
    }
  }

  function onMessage(channel: string, message: string): void {
    if (channel === keys.activationChannel) {
      policy.heard(message);
      activate(message);
    } else if (channel === keys.cancelChannel) cancel(message);
  }

  function cancel(jobId: string): boolean {
    let found = false;
    for (const r of running.values()) {
      if (r.job.id !== jobId) continue;
      r.controller.abort(Object.assign(new Error('cancelled'), { code: 'cancelled' }));
      found = true;
    }
    return found;
  }

  return {
    async start() {
      opts.subscriber.on('message', onMessage);
      await opts.subscriber.subscribe(keys.activationChannel, keys.cancelChannel);
      await rescan();
      timers = [
        setInterval(() => void renewLocks(), Math.max(500, Math.floor(opts.lockMs / 2))),
        setInterval(() => void rescan().catch((err) => log.warn({ err }, 'rescan failed')), rescanMs),
      ];
      for (const t of timers) t.unref();
    },
    cancel,
    stats() {
      const s = policy.stats();
      return { running: running.size, fetching: s.fetching, activeTenants: s.activeTenants, knownTenants: workers.size };
    },
    async close(graceMs) {
      closing = true;
      for (const t of timers) clearInterval(t);
      if (reserveTimer) clearTimeout(reserveTimer);
      opts.subscriber.off('message', onMessage);
      await opts.subscriber.unsubscribe().catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      // Fetches in flight end with a job handed back or launched (then awaited below); with Redis
      // unreachable they may never answer, so they get no longer than the grace period.
      await Promise.race([Promise.all(fetches), deadline]);
      const all = Promise.all([...running.values()].map((r) => r.done));
      if ((await Promise.race([all.then(() => 'done' as const), deadline])) === 'timeout') {
        for (const r of running.values()) r.controller.abort(new ShutdownAbort('worker shutting down'));
        await all;
      }
      clearTimeout(timer);
      await Promise.all([...workers.values()].map((tw) => tw.worker.close(true).catch(() => undefined)));
      workers.clear();
    },
  };
}
