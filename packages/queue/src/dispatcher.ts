import { randomUUID } from 'node:crypto';
import { Worker, createRedisBackend } from 'bullmq';
import type { Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@agents/observability';
import { coordinationKeys, tenantBullPrefix, tenantQueueName } from './names';

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
  redis: Redis;
  /** A second connection in subscriber mode (activations and cancellations). */
  subscriber: Redis;
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
   * message) within the last `reserveWindowMs` but hold no slot in this process. The tenant that
   * already holds the most slots here may not take a slot that would leave fewer free than that.
   * 0 (the default) disables it; must be below `slots`.
   */
  reservedSlots?: number;
  /** How long an activation message counts as "recently active" for the headroom (ms). Default 3 000. */
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
  /** `runMs` is the attempt's wall clock in this process; `result` is the handler's return value when completed. */
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

/**
 * A tenant queue's Worker, used only as a fetch/finish handle (the dispatcher runs the jobs). The
 * subclass exposes BullMQ's own conversion of the next-job reply that `moveToCompleted` returns when
 * asked to fetch the next job in the same script (what BullMQ's Worker loop does itself).
 */
class TenantQueueWorker extends Worker {
  jobFromReply(reply: unknown, token: string): Promise<BullJob | undefined> {
    if (!Array.isArray(reply) || !reply[0]) return Promise.resolve(undefined);
    return this.nextJobFromJobData(reply[0], reply[1], token);
  }
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
 * Fair dispatcher (DESIGN.md decision 1): a fixed number of slots per process, handed round-robin to
 * tenants that have waiting work. BullMQ enforces each tenant queue's global concurrency inside
 * moveToActive, so a tenant at its cap simply yields no job and the slot goes to the next tenant.
 * Waiting for work is a pub/sub wake-up, never a poll per tenant. Order: fewest running here first,
 * ties round-robin; with `reservedSlots`, some slots are kept free for recently announced tenants
 * (see heldBack).
 */
export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const keys = coordinationKeys(opts.redisPrefix);
  const log = opts.logger;
  const rescanMs = opts.rescanMs ?? 5_000;
  const idleTtl = opts.idleWorkerTtlMs ?? 60_000;
  const maxReserved = opts.reservedSlots ?? 0;
  const reserveWindowMs = opts.reserveWindowMs ?? 3_000;
  if (!Number.isInteger(maxReserved) || maxReserved < 0 || maxReserved >= opts.slots) {
    throw new RangeError(`reservedSlots must be an integer from 0 to slots - 1 (${opts.slots - 1}), got ${maxReserved}`);
  }
  const workers = new Map<string, TenantWorker>();
  // Keyed by the run's lock token, not the job id: after a lost lock the same job can briefly have
  // two runs in this process (the old one until its renewal notices, the new one the stalled
  // check handed it to), and each must keep its own entry.
  const running = new Map<string, Running>();
  // Slots each tenant holds in this process, running or being fetched for it (absent = 0): the pump
  // serves the emptiest first.
  const runningOf = new Map<string, number>();
  // Slots claimed by fetches in flight (several at once, one round trip each), and those fetches.
  let fetching = 0;
  const fetches = new Set<Promise<void>>();
  // Fetches in flight per tenant, and the tenants whose latest fetch here returned a job. A tenant
  // not known to have a backlog gets one fetch at a time: an announcement usually means one job, and
  // the other free slots stay for tenants announced meanwhile instead of waiting a round trip on
  // fetches that come back empty.
  const fetchingOf = new Map<string, number>();
  const backlogged = new Set<string>();
  // After a failed fetch (Redis unreachable) no new fetch starts before this time.
  let fetchPausedUntil = 0;
  // Round-robin ring of tenants that may have waiting jobs.
  const ring: string[] = [];
  const inRing = new Set<string>();
  // Each ring tenant's latest activation, numbered from one process-wide sequence: an empty fetch
  // drops the tenant from the ring only if it was not activated again since the fetch began (its
  // new job may have been added after the fetch looked). A process-wide sequence, so that a tenant
  // dropped and activated again never shows the number an older fetch saw.
  const activations = new Map<string, number>();
  let activationSeq = 0;
  let cursor = 0;
  // When each tenant was last announced on the activation channel (any process's enqueue or job end).
  // Entries older than the reserve window are dropped as they are met, and by every rescan.
  const lastSeen = new Map<string, number>();
  // One timer for the moment the kept-back headroom shrinks (a recently active tenant ages out).
  let reserveTimer: NodeJS.Timeout | undefined;
  let closing = false;
  let timers: NodeJS.Timeout[] = [];

  const backendFactory = (name: string, o: Parameters<typeof createRedisBackend>[1], extra?: Parameters<typeof createRedisBackend>[2]) =>
    createRedisBackend(name, o, { ...extra, withBlockingConnection: false });

  function workerFor(tenantId: string): TenantQueueWorker {
    let tw = workers.get(tenantId);
    if (!tw) {
      const worker = new TenantQueueWorker(
        tenantQueueName(tenantId),
        null,
        {
          connection: opts.redis,
          prefix: tenantBullPrefix(opts.redisPrefix, tenantId),
          autorun: false,
          lockDuration: opts.lockMs,
          stalledInterval: opts.stalledCheckMs,
          // A job whose worker died is run again, twice; a third stall hands it to the handler as
          // `stalledOut` (BullMQ's deferred failure), which fails it for good.
          maxStalledCount: 2,
        },
        backendFactory,
      );
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
    if (!inRing.has(tenantId)) {
      inRing.add(tenantId);
      ring.push(tenantId);
    }
    activations.set(tenantId, ++activationSeq);
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

  function deactivate(tenantId: string): void {
    if (!inRing.delete(tenantId)) return;
    activations.delete(tenantId);
    backlogged.delete(tenantId);
    const i = ring.indexOf(tenantId);
    ring.splice(i, 1);
    if (i < cursor) cursor--;
  }

  /**
   * The ring position of the tenant that gets the next free slot (-1: none can take one now): the
   * one with the fewest jobs running in this process, ties going round-robin from the cursor,
   * skipping a tenant whose fetch is in flight unless its last fetch found a job (fetchingOf).
   * Plain round-robin let a tenant holding every slot take every other freed slot from a tenant
   * that arrived with a backlog; this way slots go to the newcomer until both hold as many, then
   * they alternate. O(ring length) per job start.
   */
  function nextInRing(): number {
    if (cursor >= ring.length) cursor = 0;
    let best = -1;
    let bestRunning = Infinity;
    for (let k = 0; k < ring.length && bestRunning > 0; k++) {
      const i = (cursor + k) % ring.length;
      const t = ring[i]!;
      if (fetchingOf.has(t) && !backlogged.has(t)) continue;
      const n = runningOf.get(t) ?? 0;
      if (n < bestRunning) {
        best = i;
        bestRunning = n;
      }
    }
    return best;
  }

  /**
   * Headroom (AWS Lambda's unreserved concurrency, Oban Pro's burst-into-idle-capacity): a tenant
   * that already holds the most slots here may not take one that would leave fewer than R free,
   * R = the tenants (other than it) announced within the window that hold no slot here, capped at
   * `reservedSlots`. A reserved-for tenant that shows up gets a free slot at once (it holds fewer,
   * so nextInRing picks it first). When a slot is held back, a timer re-runs the pump when R would
   * shrink, so the slots go back to the busy tenant once the others have gone quiet: a tenant alone
   * (or after the window) uses every slot, and no slot stays idle past the window.
   * A tie at one slot does not count as "holding the most": when the tenants here each held one,
   * every one of them was held back, and the last slot idled for tenants that may be running in
   * another process while the tenants here had jobs waiting. A lone busy tenant at one slot is
   * still held back.
   */
  function heldBack(tenantId: string, freeing = 0): boolean {
    if (maxReserved === 0) return false;
    // `freeing` = 1 asks on behalf of a run of this tenant that is about to end (its slot counted free).
    const mine = (runningOf.get(tenantId) ?? 0) - freeing;
    for (const [t, n] of runningOf) if (t !== tenantId && (n > mine || (n === 1 && mine === 1))) return false;
    const now = Date.now();
    const seenAt: number[] = [];
    for (const [t, at] of lastSeen) {
      if (now - at >= reserveWindowMs) lastSeen.delete(t);
      else if (t !== tenantId && !runningOf.has(t)) seenAt.push(at);
    }
    const r = Math.min(maxReserved, seenAt.length);
    const free = opts.slots - running.size - fetching + freeing;
    if (free - 1 >= r) return false;
    // R shrinks when its r-th most recent tenant ages out; re-run the pump then (and again later if
    // that tenant or another was announced meanwhile).
    seenAt.sort((a, b) => b - a);
    armReserveTimer(seenAt[r - 1]! + reserveWindowMs - now);
    return true;
  }

  /**
   * Whether the slot that a finishing run of `tenantId` frees would go straight back to that tenant,
   * as the pump would decide once it is free: no other tenant in the ring holds as few slots here
   * (ties go through the pump's round-robin) and the headroom does not hold it back. Then the finish
   * asks BullMQ for the tenant's next job in the same script, as BullMQ's own Worker does: one round
   * trip instead of a finish, an activation to every process and a fetch.
   */
  function keepsItsSlot(tenantId: string): boolean {
    if (closing) return false;
    const mine = (runningOf.get(tenantId) ?? 1) - 1;
    for (const t of ring) if (t !== tenantId && (runningOf.get(t) ?? 0) <= mine) return false;
    return !heldBack(tenantId, 1);
  }

  function armReserveTimer(ms: number): void {
    if (reserveTimer) clearTimeout(reserveTimer);
    reserveTimer = setTimeout(() => {
      reserveTimer = undefined;
      pump();
    }, Math.max(1, ms));
    reserveTimer.unref();
  }

  /**
   * Hands out free slots: each goes to the tenant nextInRing picks, and the fetch for it starts at
   * once, so that several tenants announced together are fetched in one round trip, not one after
   * another. A tenant whose fetch yields no job leaves the ring until it is announced again (a job
   * enqueued, or one of its jobs finished somewhere).
   */
  function pump(): void {
    while (!closing && running.size + fetching < opts.slots && ring.length > 0 && Date.now() >= fetchPausedUntil) {
      const next = nextInRing();
      if (next < 0) return;
      cursor = next;
      const tenantId = ring[cursor]!;
      // nextInRing picked the fewest-holding tenant, so if it is held back every ring member is.
      if (heldBack(tenantId)) return;
      cursor++;
      const f = fetchFor(tenantId).catch((err) => log.error({ err, tenant_id: tenantId }, 'dispatcher fetch failed'));
      fetches.add(f);
      void f.finally(() => fetches.delete(f));
    }
  }

  async function fetchFor(tenantId: string): Promise<void> {
    fetching++;
    fetchingOf.set(tenantId, (fetchingOf.get(tenantId) ?? 0) + 1);
    runningOf.set(tenantId, (runningOf.get(tenantId) ?? 0) + 1);
    const seenActivations = activations.get(tenantId);
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
    fetching--;
    const stillFetching = fetchingOf.get(tenantId)! - 1;
    if (stillFetching > 0) fetchingOf.set(tenantId, stillFetching);
    else fetchingOf.delete(tenantId);
    if (job) backlogged.add(tenantId);
    else if (!failed) backlogged.delete(tenantId);
    release(tenantId);
    if (job && closing) {
      await handBack(job, token);
      return;
    }
    if (job) launch(job, token, tenantId);
    else if (!failed) dropUnlessAnnounced(tenantId, seenActivations);
    pump();
  }

  /**
   * A look found nothing to run for the tenant: it leaves the ring, unless it was announced since
   * the look began (`seenActivations`), when its new job may have been added after the look.
   */
  function dropUnlessAnnounced(tenantId: string, seenActivations: number | undefined): void {
    if (activations.get(tenantId) !== seenActivations) return;
    deactivate(tenantId);
    void retireIfDrained(tenantId).catch((err) => log.warn({ err, tenant_id: tenantId }, 'active-tenant bookkeeping failed'));
  }

  function release(tenantId: string): void {
    const left = (runningOf.get(tenantId) ?? 1) - 1;
    if (left > 0) runningOf.set(tenantId, left);
    else runningOf.delete(tenantId);
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
    const q = `${tenantBullPrefix(opts.redisPrefix, tenantId)}:${tenantQueueName(tenantId)}`;
    if ((await opts.redis.srem(keys.activeTenants, tenantId)) === 0) return;
    const counts = await opts.redis
      .multi()
      .llen(`${q}:wait`)
      .zcard(`${q}:prioritized`)
      .zcard(`${q}:delayed`)
      .llen(`${q}:active`)
      .exec();
    // An unreadable count (error, aborted transaction) keeps the tenant: a spare fetch is harmless.
    const pending = counts ? counts.reduce((n, [err, v]) => n + (err ? 1 : Number(v)), 0) : 1;
    if (pending > 0) await opts.redis.sadd(keys.activeTenants, tenantId);
  }

  function launch(job: BullJob, token: string, tenantId: string): void {
    const controller = new AbortController();
    const entry: Running = { job, token, tenantId, controller, done: Promise.resolve(), finishing: false };
    running.set(token, entry);
    runningOf.set(tenantId, (runningOf.get(tenantId) ?? 0) + 1);
    entry.done = (async () => {
      const startedAt = Date.now();
      let end: AttemptEnd = 'failed';
      let result: unknown;
      // Set when the finish asked for this tenant's next job (keepsItsSlot); `next` is what it got.
      let askedNext = false;
      let seenActivations: number | undefined;
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
        const ask = keepsItsSlot(tenantId);
        seenActivations = activations.get(tenantId);
        const reply = await job.moveToCompleted(result ?? null, token, ask);
        // Only a finish that went through asked: a failed one is handled as before (announced).
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
          await job
            .moveToFailed(err instanceof Error ? err : new Error(String(err)), token, false)
            .catch((e) => log.warn({ err: e, job_id: job.id }, 'could not record failure; stalled check will retry'));
        }
      } finally {
        running.delete(token);
        release(tenantId);
        opts.observer?.finished(job, tenantId, end, Date.now() - startedAt, result);
        await afterRun(tenantId, token, askedNext, seenActivations, next);
      }
    })();
  }

  /** Returns a job this process holds (under `token`) to wait untouched, for another run to take. */
  async function handBack(job: BullJob, token: string): Promise<void> {
    await job.moveToWait(token).catch((err) => log.warn({ err, job_id: job.id }, 'could not hand job back; stalled check will'));
  }

  /** What a slot does once its run has ended (see launch). */
  async function afterRun(tenantId: string, token: string, askedNext: boolean, seenActivations: number | undefined, next: BullJob | undefined): Promise<void> {
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
      dropUnlessAnnounced(tenantId, seenActivations);
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
    // Forget idle tenant Workers so that thousands of tenants cost nothing once quiet.
    const now = Date.now();
    for (const [tid, at] of lastSeen) if (now - at >= reserveWindowMs) lastSeen.delete(tid);
    for (const [tid, tw] of workers) {
      if (now - tw.lastUsed > idleTtl && !inRing.has(tid) && ![...running.values()].some((r) => r.tenantId === tid)) {
        workers.delete(tid);
        void tw.worker.close().catch(() => undefined);
      }
    }
  }

  function onMessage(channel: string, message: string): void {
    if (channel === keys.activationChannel) {
      if (maxReserved > 0) lastSeen.set(message, Date.now());
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
      return { running: running.size, fetching, activeTenants: ring.length, knownTenants: workers.size };
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
