import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { Router } from 'express';
import type { RedisConnection } from '@agents/queue';
import type { Db } from '@agents/db';
import type { Logger } from '@agents/observability';
import { BILLING_QUEUE, WEBHOOK_QUEUE, coordinationKeys, systemBullPrefix, tenantBullPrefix, tenantQueueName } from '@agents/queue';
import { redactSecrets } from './redact-job-data';
import { listTenantIds } from './tenant-ids';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * UI poll period (seconds). Each poll reads counts of every visible queue (5 small Redis calls per
 * queue), so with hundreds of tenants 15 s keeps an open board well under 100 calls/s.
 */
const POLL_INTERVAL_S = 15;

export interface QueueBoardOptions {
  db: Db;
  /** Shared command connection; the board opens none of its own. */
  redis: RedisConnection;
  redisPrefix: string;
  logger: Logger;
  /** Tenants table re-read period (ms); a request to the board also refreshes once this is stale. */
  refreshMs: number;
}

export interface QueueBoard {
  /** Mount under BULL_BOARD_PATH behind operator auth. */
  router: Router;
  /** Adds queues of tenants created since the last refresh; coalesces concurrent calls. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Bull Board over every tenant queue (`tenant.<tid>`, grouped by the `.` delimiter) and the system
 * queues. Tenants come from Postgres, re-read periodically and lazily, so a new tenant appears
 * without a restart. Tuned for many queues: no per-queue `CLIENT LIST` (showWorkers off), a fixed
 * poll interval, and job data/return values passed through a secret redactor.
 */
export function createQueueBoard(opts: QueueBoardOptions): QueueBoard {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const queues = new Map<string, Queue>();

  function adapterFor(name: string, prefix: string, description: string): BullMQAdapter {
    const queue = new Queue(name, { connection: opts.redis, prefix });
    // The shared client reports connection errors once; the Queue's re-emits would be noise.
    queue.on('error', () => undefined);
    queues.set(name, queue);
    const adapter = new BullMQAdapter(queue, { delimiter: '.', allowRetries: true, readOnlyMode: false, description });
    adapter.setFormatter('data', (data) => redactSecrets(data));
    adapter.setFormatter('returnValue', (value) => redactSecrets(value));
    return adapter;
  }

  const board = createBullBoard({
    queues: [
      adapterFor(WEBHOOK_QUEUE, systemBullPrefix(opts.redisPrefix), 'Outbound webhook deliveries'),
      adapterFor(BILLING_QUEUE, systemBullPrefix(opts.redisPrefix), 'Usage rollups and invoices'),
    ],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'Commerce agents',
        showWorkers: false,
        hideDocsLink: true,
        sortQueues: true,
        pollingInterval: { showSetting: true, forceInterval: POLL_INTERVAL_S },
        overview: { groupByDelimiter: true },
      },
    },
  });

  let lastRefresh = 0;
  let inFlight: Promise<void> | undefined;
  async function doRefresh(): Promise<void> {
    const ids = await listTenantIds(opts.db, { includeDisabled: true });
    for (const tid of ids) {
      const name = tenantQueueName(tid);
      if (!queues.has(name)) board.addQueue(adapterFor(name, tenantBullPrefix(opts.redisPrefix, tid), `Jobs of tenant ${tid}`));
    }
    lastRefresh = Date.now();
  }
  function refresh(): Promise<void> {
    inFlight ??= doRefresh().finally(() => (inFlight = undefined));
    return inFlight;
  }

  const timer = setInterval(
    () => void refresh().catch((err) => opts.logger.warn({ err: { message: (err as Error).message } }, 'bull board refresh failed')),
    opts.refreshMs,
  );
  timer.unref();
  void refresh().catch(() => undefined);

  const inner = serverAdapter.getRouter() as Router;
  const keys = coordinationKeys(opts.redisPrefix);
  /**
   * The board's Retry (one job or all) and Promote put entries back in a tenant queue, but the fair
   * dispatcher fetches only from tenants announced as active (DESIGN.md decision 1): without this
   * the retried job would wait for the tenant's next submission. Announced as enqueueRun does.
   */
  function announceAfter(req: Parameters<Router>[0], res: Parameters<Router>[1]): void {
    const m = /^\/api\/queues\/([^/]+)\/(?:[^/]+\/)?(?:retry|promote)\b/.exec(req.path);
    const queueName = m ? decodeURIComponent(m[1]!) : '';
    if (req.method === 'GET' || !queueName.startsWith('tenant.')) return;
    const tenantId = queueName.slice('tenant.'.length);
    res.on('finish', () => {
      if (res.statusCode >= 300) return;
      void opts.redis
        .multi()
        .sadd(keys.activeTenants, tenantId)
        .publish(keys.activationChannel, tenantId)
        .exec()
        .catch((err) =>
          opts.logger.warn({ err: { message: (err as Error).message }, tenant_id: tenantId }, 'could not announce a retried tenant; the reconciler will'),
        );
    });
  }
  const router = ((req, res, next) => {
    announceAfter(req, res);
    const stale = Date.now() - lastRefresh > opts.refreshMs;
    (stale ? refresh() : Promise.resolve()).then(
      () => inner(req, res, next),
      // A failed refresh still serves the queues already known.
      () => inner(req, res, next),
    );
  }) as Router;

  return {
    router,
    refresh,
    async close() {
      clearInterval(timer);
      await inFlight?.catch(() => undefined);
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
      queues.clear();
    },
  };
}
