import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { listenForDeliveries } from '@agents/db';
import type { Db, WebhookSecretStore } from '@agents/db';
import { systemBullPrefix, WEBHOOK_QUEUE } from '@agents/queue';
import type { JobPayload } from '@agents/queue';
import { parseRetrySchedule } from '@agents/webhooks';
import type { Resolve } from '@agents/webhooks';
import type { Logger } from '@agents/observability';
import { createWebhookDeliverProcessor } from './processors/webhook-deliver';
import type { EnqueueAttempt } from './processors/webhook-deliver';
import { startWebhookRelay } from './webhook-relay';
import { createTenantShare } from './tenant-share';

/** Delivery slots per process. */
export const DEFAULT_DELIVERY_CONCURRENCY = 16;

/** The share of a process's delivery slots one tenant may hold: a quarter, at least one. */
export const tenantShareOf = (concurrency: number) => Math.max(1, Math.floor(concurrency / 4));

export interface WebhookDeliveryOptions {
  db: Db;
  /** Shared command connection (the BullMQ Worker duplicates it for its one blocking connection). */
  redis: Redis;
  /** For the LISTEN connection that wakes the relay when an outbox row commits. */
  databaseUrl: string;
  redisPrefix: string;
  secrets: Pick<WebhookSecretStore, 'signingSecrets'>;
  /** WEBHOOK_RETRY_SCHEDULE, e.g. "5s,5m,30m,2h,5h,10h,10h". */
  retrySchedule: string;
  allowPrivate: boolean;
  resolve?: Resolve;
  logger: Logger;
  /** Deliveries in flight per process; each is one outbound request of at most 10 s. */
  concurrency?: number;
  /** Of those, how many one tenant may hold; default tenantShareOf(concurrency). */
  perTenant?: number;
  /** Relay poll period, ms. */
  relayEveryMs?: number;
}

export interface WebhookDelivery {
  /** Wake this process's relay now (after a terminal transition it wrote). */
  nudge(): void;
  close(): Promise<void>;
}

/** BullMQ job id of attempt n of a delivery (BullMQ ids may not contain ":"). */
export function webhookAttemptJobId(deliveryId: string, n: number): string {
  return `${deliveryId}-${n}`;
}

/**
 * The delivery side of outbound webhooks in one worker process: the `system.webhooks` queue, a
 * BullMQ Worker running the deliver processor, and the outbox relay, woken by a Postgres NOTIFY
 * sent in the transaction that wrote the delivery (a job's terminal transition in any process, a
 * redelivery from the API) and polling every ~500 ms as the safety net.
 */
export async function startWebhookDelivery(opts: WebhookDeliveryOptions): Promise<WebhookDelivery> {
  const schedule = parseRetrySchedule(opts.retrySchedule);
  const concurrency = opts.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
  const prefix = systemBullPrefix(opts.redisPrefix);
  const queue = new Queue(WEBHOOK_QUEUE, { connection: opts.redis, prefix });
  queue.on('error', () => undefined); // the shared client's own listener reports connection trouble

  const enqueueAttempt: EnqueueAttempt = async (deliveryId, n, delayMs) => {
    const data: JobPayload<'webhook.deliver'> = { delivery_id: deliveryId, attempt: n };
    await queue.add('webhook.deliver', data, {
      jobId: webhookAttemptJobId(deliveryId, n),
      delay: delayMs,
      // Infrastructure errors only (the HTTP outcome never throws); the schedule is ours, in Postgres.
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      // Postgres keeps the attempt log. A failed entry is removed so the relay can queue it again.
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: true,
    });
  };

  const relay = startWebhookRelay({ db: opts.db, enqueueAttempt, logger: opts.logger, everyMs: opts.relayEveryMs ?? 500 });
  const worker = new Worker(
    WEBHOOK_QUEUE,
    createWebhookDeliverProcessor({
      db: opts.db,
      secrets: opts.secrets,
      schedule,
      allowPrivate: opts.allowPrivate,
      resolve: opts.resolve,
      enqueueAttempt,
      share: createTenantShare(opts.perTenant ?? tenantShareOf(concurrency)),
      logger: opts.logger,
    }),
    { connection: opts.redis, prefix, concurrency },
  );
  worker.on('error', (err) => opts.logger.warn({ err: { message: err.message } }, 'webhook worker error'));

  let listener: Awaited<ReturnType<typeof listenForDeliveries>>;
  try {
    listener = await listenForDeliveries({
      url: opts.databaseUrl,
      onNotify: relay.nudge,
      onError: (err) => opts.logger.warn({ err: { message: err.message } }, 'webhook notification listener lost its connection; reconnecting'),
    });
  } catch (err) {
    await relay.stop();
    await worker.close();
    await queue.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    nudge: relay.nudge,
    close() {
      closing ??= (async () => {
        await listener.close();
        await relay.stop();
        await worker.close();
        await queue.close();
      })();
      return closing;
    },
  };
}
