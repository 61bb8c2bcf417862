import { DelayedError } from 'bullmq';
import { getDeliveryToSend, recordDeliveryAttempt, markDeliveryEnqueued } from '@agents/db';
import type { Db, DeliveryStatus, DeliveryToSend, WebhookSecretStore } from '@agents/db';
import type { Handler } from '@agents/queue';
import { deliverWebhook, isRetryable, nextAttemptDelay, signPayload } from '@agents/webhooks';
import type { DeliveryResult, Resolve } from '@agents/webhooks';
import type { Logger } from '@agents/observability';
import type { TenantShare } from '../tenant-share';

/** Queues attempt `n` of a delivery to run after `delayMs` (idempotent per delivery and n). */
export type EnqueueAttempt = (deliveryId: string, n: number, delayMs: number) => Promise<void>;

export interface WebhookDeliverDeps {
  db: Db;
  secrets: Pick<WebhookSecretStore, 'signingSecrets'>;
  /** Delays between attempts, ms (parsed WEBHOOK_RETRY_SCHEDULE). */
  schedule: readonly number[];
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
  allowPrivate: boolean;
  /** DNS override for the connect-time SSRF check (tests, custom resolvers). */
  resolve?: Resolve;
  /** Per-attempt budget, ms; API.md fixes 10 s. */
  timeoutMs?: number;
  enqueueAttempt: EnqueueAttempt;
  /** Caps the delivery slots one tenant holds; an attempt over its share waits `deferMs` in the queue. */
  share: TenantShare;
  deferMs?: number;
  logger: Logger;
}

/** How long an attempt over its tenant's share waits before it is tried again (ms). */
export const SHARE_DEFER_MS = 250;

export type WebhookDeliverResult =
  { skipped: 'missing' | 'not_pending' | 'stale_attempt' } | { attempt: number; status: DeliveryStatus; status_code: number | null; error: string | null };

/** Failure code when the tenant has no signing secret: nothing unsigned ever leaves. */
export const NO_SIGNING_SECRET = 'no_signing_secret';

/**
 * The `webhook.deliver` processor: one attempt of one delivery. The delivery row decides what
 * happens (a duplicate or stale queue entry finds the attempt already done and skips); each
 * attempt is signed afresh with the tenant's current secrets and a new timestamp, logged in
 * webhook_attempts, and either settles the delivery or schedules the next attempt per the
 * retry schedule. Only infrastructure errors (DB, Redis) throw, so BullMQ retries the entry.
 */
export function createWebhookDeliverHandler(deps: WebhookDeliverDeps): Handler<'webhook.deliver'> {
  return async ({ delivery_id, attempt }, { job, token }): Promise<WebhookDeliverResult> => {
    const found = await getDeliveryToSend(deps.db, delivery_id);
    if (!found) return { skipped: 'missing' };
    const { delivery } = found;
    if (delivery.status !== 'pending') return { skipped: 'not_pending' };
    const n = delivery.attempts + 1;
    if (attempt !== undefined && attempt !== n) return { skipped: 'stale_attempt' };
    if (!deps.share.tryAcquire(delivery.tenant_id)) {
      // The tenant holds its share of this process's slots: the attempt goes back to wait (it is not
      // an attempt, nothing is recorded), and the slot serves another tenant.
      await job.moveToDelayed(Date.now() + (deps.deferMs ?? SHARE_DEFER_MS), token);
      throw new DelayedError();
    }
    try {
      return await attemptDelivery(deps, found, n);
    } finally {
      deps.share.release(delivery.tenant_id);
    }
  };
}

async function attemptDelivery(deps: WebhookDeliverDeps, { delivery, payload }: DeliveryToSend, n: number): Promise<WebhookDeliverResult> {
  const log = deps.logger.child({ tenant_id: delivery.tenant_id, job_id: delivery.job_id, delivery_id: delivery.id, attempt: n });

  const secrets = await deps.secrets.signingSecrets(delivery.tenant_id);
  let result: DeliveryResult;
  let error: string | null;
  if (secrets.length === 0) {
    result = { ok: false, status: null, error: null, durationMs: 0 };
    error = NO_SIGNING_SECRET;
  } else {
    const body = JSON.stringify(payload);
    const headers = signPayload({ id: delivery.event_id, timestamp: Math.floor(Date.now() / 1000), body, secrets });
    result = await deliverWebhook({
      url: delivery.url,
      headers: { ...headers },
      body,
      allowPrivate: deps.allowPrivate,
      resolve: deps.resolve,
      timeoutMs: deps.timeoutMs,
    });
    error = result.error;
  }

  let status: DeliveryStatus;
  let nextDelayMs: number | null = null;
  if (result.ok) status = 'delivered';
  else if (!isRetryable(result))
    status = 'failed'; // 410 Gone, or a URL that can never work
  else {
    nextDelayMs = nextAttemptDelay(deps.schedule, n);
    status = nextDelayMs === null ? 'failed' : 'pending';
  }
  const row = await recordDeliveryAttempt(deps.db, {
    deliveryId: delivery.id,
    n,
    statusCode: result.status,
    error,
    durationMs: result.durationMs,
    status,
    nextDelayMs,
  });
  if (!row) return { skipped: 'stale_attempt' };
  // The URL stays out of logs: its path or query may carry the tenant's token.
  log.info({ status_code: result.status, error, outcome: status, duration_ms: result.durationMs }, 'webhook attempt');

  if (status === 'pending' && nextDelayMs !== null) {
    // The row already says "attempt n+1 due, not queued": if this enqueue fails, the relay does it.
    try {
      await deps.enqueueAttempt(delivery.id, n + 1, nextDelayMs);
      await markDeliveryEnqueued(deps.db, delivery.id, n);
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'could not queue the next webhook attempt; the relay will');
    }
  }
  return { attempt: n, status, status_code: result.status, error };
}
