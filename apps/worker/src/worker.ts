import type { Config } from '@agents/config';
import { createCredentialStore, createDb } from '@agents/db';
import { createDispatcher, createProducer, createRedis, startReconciler } from '@agents/queue';
import { createCatalog, createRuntime } from '@agents/runtime';
import { parseMasterKeys } from '@agents/vault';
import type { Logger } from '@agents/observability';
import { createJobRunHandler } from './processors/job-run';
import { createMeterBuffer } from './meter-buffer';

export interface WorkerProcess {
  stats(): { running: number; activeTenants: number; knownTenants: number; connections: number };
  /** Graceful: stop taking work, let running jobs finish within graceMs, hand the rest back, close everything. */
  close(graceMs?: number): Promise<void>;
}

/** Builds and starts everything one worker process runs. main.ts and the tests share this wiring. */
export async function startWorker(config: Config, logger: Logger): Promise<WorkerProcess> {
  const db = createDb({ url: config.databaseUrl, max: config.databasePoolMax });
  const redis = createRedis(config.redisUrl, logger, 'worker');
  const subscriber = createRedis(config.redisUrl, logger, 'worker-sub');
  const credentials = createCredentialStore(db, parseMasterKeys(config.vaultMasterKey));
  const meter = createMeterBuffer();
  const runtime = createRuntime({
    catalog: createCatalog({ sandboxUrl: config.sandboxUrl }),
    credentials,
    logger,
    meter: meter.meter,
  });
  const producer = createProducer({ redis, redisPrefix: config.redisPrefix, attempts: config.jobAttempts });
  const dispatcher = createDispatcher({
    redis,
    subscriber,
    redisPrefix: config.redisPrefix,
    slots: config.workerSlots,
    lockMs: config.jobLockMs,
    stalledCheckMs: config.stalledCheckMs,
    logger,
    handler: createJobRunHandler({ db, runtime, logger, jobTimeoutMs: config.jobTimeoutMs, takeRecord: meter.take }),
  });
  await dispatcher.start();
  const stopReconciler = startReconciler({ db, producer, logger, graceMs: config.reconcileGraceMs, everyMs: config.reconcileEveryMs });
  logger.info({ slots: config.workerSlots }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    stats: () => ({ ...dispatcher.stats(), connections: runtime.stats().connections }),
    close(graceMs = config.shutdownGraceMs) {
      closing ??= (async () => {
        stopReconciler();
        await dispatcher.close(graceMs);
        await runtime.close();
        await producer.close();
        redis.disconnect();
        subscriber.disconnect();
        await db.destroy();
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}
