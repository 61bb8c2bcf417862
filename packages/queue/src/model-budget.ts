import type { RedisConnection } from './redis';
import type { Logger } from '@agents/observability';
import { defineScript } from './redis';

export interface ModelBudgetOptions {
  /** Command connection (shared with the dispatcher; no connection of its own). */
  redis: RedisConnection;
  redisPrefix: string;
  /** Model calls per minute for the whole deployment (all processes, all tenants); 0 = unlimited. */
  callsPerMinute: number;
  /** Calls that may go out back to back after a quiet spell. Default: one second's worth, at least 1. */
  burst?: number;
  logger: Logger;
}

export interface ModelBudgetStats {
  waiting: number;
  waitingTenants: number;
  granted: number;
}

export interface ModelBudget {
  /**
   * Resolves when this tenant may make one model call. While calls wait, grants go round-robin over
   * the tenants waiting (one each in turn), not in arrival order. Rejects with the signal's reason
   * when aborted, or with code `budget_closed` on close.
   */
  acquire(tenantId: string, signal?: AbortSignal): Promise<void>;
  stats(): ModelBudgetStats;
  close(): void;
}

/**
 * GCRA over Redis time, shared by every process: one key holding the theoretical arrival time
 * (TAT, ms). Returns 0 when a call may go now (and advances TAT), else the ms to wait.
 * ARGV: emission interval (ms, may be fractional), tolerance = (burst - 1) * interval (ms).
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then return math.ceil(tat - tolerance - now) end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + 1000)
return 0
`;
const COMMAND = 'agentsModelBudgetTake';
type WithTake = { [COMMAND]: (key: string, intervalMs: string, toleranceMs: string) => Promise<unknown> };

interface Waiter {
  tenantId: string;
  resolve(): void;
  reject(err: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Process-wide model-call budget (issue #6): the operator's model rate limit is a Redis-shared
 * token source; inside each process the calls waiting for it are served round-robin by tenant, so
 * a tenant with 40 agent turns in flight gets one grant per turn of the ring like a tenant with 1.
 * Across processes, grants go to whichever process asks first when a token is due; tenants are
 * already spread over processes by the fair dispatcher, so shares stay close to equal.
 */
export function createModelBudget(opts: ModelBudgetOptions): ModelBudget {
  const unlimited = !(opts.callsPerMinute > 0);
  const intervalMs = unlimited ? 0 : 60_000 / opts.callsPerMinute;
  const burst = Math.max(1, opts.burst ?? Math.ceil(opts.callsPerMinute / 60));
  const toleranceMs = (burst - 1) * intervalMs;
  const key = `${opts.redisPrefix}:model-budget`;
  // Every model call of the deployment runs TAKE: EVALSHA, not the script's text each time.
  defineScript(opts.redis, COMMAND, TAKE);
  const redis = opts.redis as RedisConnection & WithTake;
  const queues = new Map<string, Waiter[]>();
  const ring: string[] = [];
  let cursor = 0;
  let waiting = 0;
  let granted = 0;
  let pumping = false;
  let closed = false;
  let sleeper: { timer: NodeJS.Timeout; wake(): void } | undefined;

  function remove(w: Waiter): boolean {
    const q = queues.get(w.tenantId);
    const i = q ? q.indexOf(w) : -1;
    if (!q || i < 0) return false;
    q.splice(i, 1);
    waiting--;
    if (q.length === 0) dropTenant(w.tenantId);
    return true;
  }

  function dropTenant(tenantId: string): void {
    queues.delete(tenantId);
    const i = ring.indexOf(tenantId);
    if (i < 0) return;
    ring.splice(i, 1);
    if (i < cursor) cursor--;
  }

  function grantNext(): void {
    if (cursor >= ring.length) cursor = 0;
    const tenantId = ring[cursor];
    if (tenantId === undefined) return;
    const q = queues.get(tenantId)!;
    const w = q.shift()!;
    waiting--;
    w.signal?.removeEventListener('abort', w.onAbort!);
    if (q.length === 0) dropTenant(tenantId);
    else cursor++;
    granted++;
    w.resolve();
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (!closed && waiting > 0) {
        let waitMs: number;
        try {
          waitMs = Number(await redis[COMMAND](key, String(intervalMs), String(toleranceMs)));
        } catch (err) {
          opts.logger.warn({ err: { message: (err as Error).message } }, 'model budget unavailable; retrying in 1 s');
          waitMs = 1000;
        }
        if (waitMs <= 0) {
          grantNext();
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          sleeper = { timer, wake: resolve };
        });
        sleeper = undefined;
      }
    } finally {
      pumping = false;
    }
  }

  return {
    acquire(tenantId, signal) {
      if (closed) return Promise.reject(Object.assign(new Error('model budget closed'), { code: 'budget_closed' }));
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (unlimited) {
        granted++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const w: Waiter = { tenantId, resolve, reject, signal };
        if (signal) {
          w.onAbort = () => {
            if (remove(w)) reject(signal.reason);
          };
          signal.addEventListener('abort', w.onAbort, { once: true });
        }
        let q = queues.get(tenantId);
        if (!q) {
          q = [];
          queues.set(tenantId, q);
          ring.push(tenantId);
        }
        q.push(w);
        waiting++;
        void pump();
      });
    },
    stats: () => ({ waiting, waitingTenants: ring.length, granted }),
    close() {
      closed = true;
      if (sleeper) {
        clearTimeout(sleeper.timer);
        sleeper.wake();
      }
      const err = Object.assign(new Error('model budget closed'), { code: 'budget_closed' });
      for (const q of queues.values()) {
        for (const w of q) {
          w.signal?.removeEventListener('abort', w.onAbort!);
          w.reject(err);
        }
      }
      queues.clear();
      ring.length = 0;
      waiting = 0;
    },
  };
}
