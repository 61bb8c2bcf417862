import type { Config } from '@agents/config';
import { createCredentialStore, createDb, createInvalidationBus, createTenantCache, createWebhookSecretStore } from '@agents/db';
import { createDispatcher, createModelBudget, createProducer, createRedis, createSystemQueues, runHandlerOf, startReconciler } from '@agents/queue';
import type { JobHandlers } from '@agents/queue';
import { createCatalog, createRuntime } from '@agents/runtime';
import { parseMasterKeys } from '@agents/vault';
import { createModelProvider } from '@agents/agent';
import { createMetrics } from '@agents/observability';
import type { Logger } from '@agents/observability';
import { countToolCalls, jobMetricsObserver, tokenCountingModel } from './worker-metrics';
import { startMetricsServer } from './metrics-server';
import type { MetricsServer } from './metrics-server';
import { createJobRunHandler } from './processors/job-run';
import { budgetedModel } from './budgeted-model';
import { createJobEventNotifier, createToolCallAdmission } from '@agents/jobs';
import { createRuntimeSessionCache, createSessionCallHandler } from '@agents/sessions';
import { DEFAULT_DELIVERY_CONCURRENCY, attemptQueuer, startWebhookDelivery, tenantShareOf } from './webhook-delivery';
import type { WebhookDelivery } from './webhook-delivery';
import { createWebhookDeliverHandler } from './processors/webhook-deliver';
import { createBillingRollupHandler, startBillingRollup } from './processors/billing-rollup';
import type { BillingRollup } from './processors/billing-rollup';
import { createTenantShare } from './tenant-share';
import { parseRetrySchedule } from '@agents/webhooks';
import type { Resolve } from '@agents/webhooks';

/**
 * Backstop lifetime of a cached tenant in a worker (ms), for an invalidation lost without a
 * reconnect (a reconnect clears the cache). Longer than the API's 1 s: a worker reads each tenant
 * once per job and per tool call, and a second per tenant would re-read it for most jobs.
 */
export const TENANT_CACHE_BACKSTOP_MS = 5_000;

export interface WorkerProcess {
  stats(): { running: number; fetching: number; activeTenants: number; knownTenants: number; connections: number };
  /** Graceful: stop taking work, let running jobs finish within graceMs, hand the rest back, close everything. */
  close(graceMs?: number): Promise<void>;
  /** Port of this process's /metrics, when it serves one. */
  metricsPort?: number;
}

export interface StartWorkerOptions {
  /** Run webhook delivery (relay + system.webhooks consumer) in this process; default true. */
  deliverWebhooks?: boolean;
  /** DNS override for the webhook connect-time SSRF check (tests, custom resolvers). */
  webhookResolve?: Resolve;
  /** Overrides WORKER_METRICS_PORT; 0 here picks a free port (tests). */
  metricsPort?: number;
  /** Run the billing rollup scheduler + consumer (system.billing) in this process; default true. */
  billingRollup?: boolean;
}

/** Builds and starts everything one worker process runs. main.ts and the tests share this wiring. */
export async function startWorker(config: Config, logger: Logger, opts: StartWorkerOptions = {}): Promise<WorkerProcess> {
  const db = createDb({ url: config.databaseUrl, max: config.databasePoolMax });
  const redis = createRedis(config.redisUrl, logger, 'worker');
  const subscriber = createRedis(config.redisUrl, logger, 'worker-sub');
  const ring = parseMasterKeys(config.vaultMasterKey);
  const credentials = createCredentialStore(db, ring);
  // Tenant config is read per job and per tool call: cached here, dropped in every process on a
  // change (the API publishes it), as the API's own tenant reads are.
  const bus = createInvalidationBus({ publisher: redis, subscriber, channel: `${config.redisPrefix}:invalidate` });
  await bus.ready();
  const tenants = createTenantCache({ db, bus, ttlMs: TENANT_CACHE_BACKSTOP_MS });
  const metrics = createMetrics({ process: 'worker', maxTenantLabels: config.metricsMaxTenantLabels });
  const runtime = createRuntime({
    catalog: createCatalog({ sandboxUrl: config.sandboxUrl }),
    credentials,
    logger,
    onToolCall: countToolCalls(metrics),
    // Monthly tool-call quota: checked and reserved right before each call leaves the runtime.
    beforeExecute: createToolCallAdmission({ db, redis, redisPrefix: config.redisPrefix, tenants }),
  });
  // The operator's model rate limit, shared by all worker processes, granted round-robin by tenant.
  const modelBudget = createModelBudget({ redis, redisPrefix: config.redisPrefix, callsPerMinute: config.modelCallsPerMinute, logger });
  // The real openai client when OPENAI_API_KEY is set (OPENAI_BASE_URL lets any compatible server in), else the scripted model.
  const model = tokenCountingModel(
    metrics,
    createModelProvider({
      openaiApiKey: config.openai.apiKey,
      openaiBaseURL: config.openai.baseUrl,
      scriptedLatencyMs: config.modelLatencyMs,
      logger,
    }),
  );
  const producer = createProducer({ redis, redisPrefix: config.redisPrefix, attempts: config.jobAttempts });
  const systemQueues = createSystemQueues({ redis, redisPrefix: config.redisPrefix });
  const enqueueAttempt = attemptQueuer(systemQueues);
  // Live job-event streams (any API process) read the log when told it grew; a waiting session
  // call reads its row when told it has its answer.
  const jobEvents = createJobEventNotifier({ publisher: redis, redisPrefix: config.redisPrefix });
  // One handler per kind in the job catalog (a kind without one does not compile); the consumers
  // below (the fair dispatcher, the system queues' Workers) parse payloads before calling them.
  const handlers: JobHandlers = {
    'job.run': createJobRunHandler({
      db,
      tenants,
      runtime,
      logger,
      jobTimeoutMs: config.jobTimeoutMs,
      // Each attempt's model calls are budgeted for its tenant.
      model: (tenantId) => budgetedModel(model, modelBudget, tenantId),
      defaultModel: config.openai.model,
      allowedModels: config.openai.allowedModels,
      jobTokenBudget: config.jobTokenBudget,
      jobEvents,
    }),
    'session.call': createSessionCallHandler({ db, tenants, sessions: createRuntimeSessionCache(runtime), notifier: jobEvents, logger }),
    'webhook.deliver': createWebhookDeliverHandler({
      db,
      secrets: createWebhookSecretStore(db, ring),
      schedule: parseRetrySchedule(config.webhookRetrySchedule),
      allowPrivate: config.webhookAllowPrivateNetworks,
      resolve: opts.webhookResolve,
      enqueueAttempt,
      share: createTenantShare(tenantShareOf(DEFAULT_DELIVERY_CONCURRENCY)),
      logger,
    }),
    'billing.rollup': createBillingRollupHandler({ db, logger, settleMs: config.jobTimeoutMs }),
  };
  const dispatcher = createDispatcher({
    redis,
    subscriber,
    redisPrefix: config.redisPrefix,
    slots: config.workerSlots,
    reservedSlots: config.workerReservedSlots,
    reserveWindowMs: config.fairReserveWindowMs,
    lockMs: config.jobLockMs,
    stalledCheckMs: config.stalledCheckMs,
    logger,
    observer: jobMetricsObserver(metrics),
    handler: runHandlerOf(handlers),
  });
  await dispatcher.start();
  const stopReconciler = startReconciler({ db, producer, logger, graceMs: config.reconcileGraceMs, everyMs: config.reconcileEveryMs });
  const webhooks: WebhookDelivery | undefined =
    opts.deliverWebhooks === false
      ? undefined
      : await startWebhookDelivery({
          db,
          redis,
          databaseUrl: config.databaseUrl,
          redisPrefix: config.redisPrefix,
          handlers,
          enqueueAttempt,
          concurrency: DEFAULT_DELIVERY_CONCURRENCY,
          logger,
        });
  const billing: BillingRollup | undefined =
    opts.billingRollup === false
      ? undefined
      : await startBillingRollup({ redis, redisPrefix: config.redisPrefix, queues: systemQueues, handlers, logger, everyMs: config.billingRollupEveryMs });
  const metricsPort = opts.metricsPort ?? (config.workerMetricsPort || undefined);
  const metricsServer: MetricsServer | undefined =
    metricsPort === undefined
      ? undefined
      : await startMetricsServer({ metrics, port: metricsPort, tokens: [config.operatorApiKey, config.metricsToken], logger });
  logger.info({ slots: config.workerSlots }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    stats: () => ({ ...dispatcher.stats(), connections: runtime.stats().connections }),
    metricsPort: metricsServer?.port,
    close(graceMs = config.shutdownGraceMs) {
      closing ??= (async () => {
        // In order (work stops before what it uses), each step tried even if one before it failed:
        // a failed step must not leave the connections after it open.
        const steps: [string, () => unknown][] = [
          ['reconciler', stopReconciler],
          ['dispatcher', () => dispatcher.close(graceMs)],
          ['model budget', () => modelBudget.close()],
          ['webhook delivery', () => webhooks?.close()],
          ['billing rollup', () => billing?.close()],
          ['system queues', () => systemQueues.close()],
          ['runtime', () => runtime.close()],
          ['producer', () => producer.close()],
          ['invalidation bus', () => bus.close()],
          ['redis', () => redis.disconnect()],
          ['redis subscriber', () => subscriber.disconnect()],
          ['database', () => db.destroy()],
          ['metrics server', () => metricsServer?.close()],
        ];
        let failed: unknown;
        for (const [what, step] of steps) {
          try {
            await step();
          } catch (err) {
            logger.error({ err: { message: (err as Error).message }, step: what }, 'worker shutdown step failed');
            failed ??= err;
          }
        }
        logger.info('worker stopped');
        if (failed) throw failed;
      })();
      return closing;
    },
  };
}
