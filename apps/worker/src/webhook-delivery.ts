import { Worker } from 'bullmq';
import type { RedisConnection, JobHandlers, SystemQueues } from '@agents/queue';
import { listenForDeliveries } from '@agents/db';
import type { Db } from '@agents/db';
import { processorOf, systemBullPrefix, systemQueueOf } from '@agents/queue';
import type { Logger } from '@agents/observability';
import type { EnqueueAttempt } from './processors/webhook-deliver';
import { startWebhookRelay } from './webhook-relay';

/** Delivery slots per process. */
export const DEFAULT_DELIVERY_CONCURRENCY = 16;

/** The share of a process's delivery slots one tenant may hold: a quarter, at least one. */
export const tenantShareOf = (concurrency: number) => Math.max(1, Math.floor(concurrency / 4));

export interface WebhookDeliveryOptions {
  db: Db;
  /** Shared command connection (the BullMQ Worker duplicates it for its one blocking connection). */
  redis: RedisConnection;
  /** For the LISTEN connection that wakes the relay when an outbox row commits. */
  databaseUrl: string;
  redisPrefix: string;
  /** Runs one attempt (createWebhookDeliverHandler, whose tenant share is sized for `concurrency`). */
  handlers: Pick<JobHandlers, 'webhook.deliver'>;
  /** What the relay queues a due attempt with (attemptQueuer). */
  enqueueAttempt: EnqueueAttempt;
  logger: Logger;
  /** Deliveries in flight per process; each is one outbound request of at most 10 s. */
  concurrency?: number;
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

/** Queues attempt n of a delivery on the system queue, idempotently (one BullMQ id per delivery and n). */
export function attemptQueuer(queues: SystemQueues): EnqueueAttempt {
  return (deliveryId, n, delayMs) =>
    queues.add('webhook.deliver', { delivery_id: deliveryId, attempt: n }, { jobId: webhookAttemptJobId(deliveryId, n), delay: delayMs });
}

/**
 * The delivery side of outbound webhooks in one worker process: a BullMQ Worker on the
 * `system.webhooks` queue running the deliver handler, and the outbox relay, woken by a Postgres
 * NOTIFY sent in the transaction that wrote the delivery (a job's terminal transition in any
 * process, a redelivery from the API) and polling every ~500 ms as the safety net.
 */
export async function startWebhookDelivery(opts: WebhookDeliveryOptions): Promise<WebhookDelivery> {
  const concurrency = opts.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
  const { enqueueAttempt } = opts;
  const relay = startWebhookRelay({ db: opts.db, enqueueAttempt, logger: opts.logger, everyMs: opts.relayEveryMs ?? 500 });
  const worker = new Worker(systemQueueOf('webhook.deliver'), processorOf('webhook.deliver', opts.handlers), {
    connection: opts.redis,
    prefix: systemBullPrefix(opts.redisPrefix),
    concurrency,
  });
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
      })();
      return closing;
    },
  };
}
