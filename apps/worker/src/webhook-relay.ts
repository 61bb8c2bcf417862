import { listUnqueuedDeliveries, markDeliveryEnqueued, requeueOverdueDeliveries } from '@agents/db';
import type { Db } from '@agents/db';
import type { Logger } from '@agents/observability';
import type { EnqueueAttempt } from './processors/webhook-deliver';

export interface WebhookRelayOptions {
  db: Db;
  enqueueAttempt: EnqueueAttempt;
  logger: Logger;
  /** Poll period, ms (~500): the floor on latency when a nudge is missed. */
  everyMs: number;
  /**
   * A pending delivery whose queued attempt is this overdue (ms) lost its queue entry and is
   * handed back to the relay. Far above any queue backlog we expect (default 60 s).
   */
  overdueMs?: number;
  batch?: number;
}

export interface WebhookRelay {
  /** Runs a pass soon (coalesced): call right after a terminal transition or a redelivery. */
  nudge(): void;
  /** Runs one pass now; resolves with how many deliveries were queued. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The outbox relay: pending deliveries without a queue entry (written by finishJob in the job's
 * own transaction, by a redelivery, or by an attempt whose follow-up enqueue failed) are put on
 * the webhook queue with the delay their next_attempt_at asks for. The queue entry id is
 * deterministic per (delivery, attempt), so every worker process can run a relay at once.
 */
export function startWebhookRelay(opts: WebhookRelayOptions): WebhookRelay {
  const overdueMs = opts.overdueMs ?? 60_000;
  const batch = opts.batch ?? 100;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = false;
  let lastOverdueSweep = 0;

  async function pass(): Promise<number> {
    if (Date.now() - lastOverdueSweep >= overdueMs / 2) {
      lastOverdueSweep = Date.now();
      const lost = await requeueOverdueDeliveries(opts.db, overdueMs);
      if (lost) opts.logger.warn({ count: lost }, 'webhook deliveries lost their queue entry; re-queuing');
    }
    let queued = 0;
    for (;;) {
      const rows = await listUnqueuedDeliveries(opts.db, batch);
      for (const d of rows) {
        const delay = Math.max(0, (d.next_attempt_at?.getTime() ?? 0) - Date.now());
        await opts.enqueueAttempt(d.id, d.attempts + 1, delay);
        await markDeliveryEnqueued(opts.db, d.id, d.attempts);
        queued++;
      }
      if (rows.length < batch || stopped) return queued;
    }
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        do {
          again = false;
          total += await pass();
        } while (again && !stopped);
      } catch (err) {
        opts.logger.warn({ err: { message: (err as Error).message } }, 'webhook relay pass failed; will retry');
      } finally {
        running = undefined;
      }
      return total;
    })();
    return running;
  }

  const timer = setInterval(() => void runOnce(), opts.everyMs);
  timer.unref();
  void runOnce();

  return {
    nudge: () => {
      if (!stopped) void runOnce();
    },
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
