import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '@agents/config';
import { countExecutedToolCalls, createCredentialStore, createDb, createInvalidationBus, createTenantCache, createWebhookSecretStore } from '@agents/db';
import { parseMasterKeys } from '@agents/vault';
import { createProducer, createRedis, createToolCallQuota } from '@agents/queue';
import { createCatalog } from '@agents/runtime';
import { checkCallbackUrl } from '@agents/webhooks';
import type { Resolve } from '@agents/webhooks';
import { createMetrics } from '@agents/observability';
import type { Logger } from '@agents/observability';
import { createJobEventHub, createSubmitJob } from '@agents/jobs';
import { createApp } from './app';
import { ApiError } from './errors';
import { answerClientError } from './client-error';
import { createTenantKeys } from './tenant-keys';
import { createPlatformKeys } from './platform-keys';
import { createQueueBoard } from './admin/bull-board';
import { createQueueDepthSampler } from './admin/queue-depth';

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds and starts one API process. main.ts and the tests share this wiring. */
export async function startApi(
  config: Config,
  logger: Logger,
  /**
   * resolve: DNS override for the callback-URL SSRF check (tests, custom resolvers).
   * eventsKeepAliveMs: keep-alive interval of job event streams (default 15 s; tests shorten it).
   * sessionCallWaitMs: how long a session execute waits for its worker (default 55 s; tests shorten it).
   */
  opts: { port?: number; resolve?: Resolve; eventsKeepAliveMs?: number; sessionCallWaitMs?: number } = {},
): Promise<ApiServer> {
  const db = createDb({ url: config.databaseUrl, max: config.databasePoolMax });
  // Fail fast (1 s) while Redis is down: requests get 503 service_unavailable, never hang.
  const redis = createRedis(config.redisUrl, logger, 'api', { failFastMs: 1_000 });
  // Rate limit and quota reads: a connection without BullMQ's scripts (see ApiDeps.admissionRedis).
  const admissionRedis = createRedis(config.redisUrl, logger, 'api-admission', { failFastMs: 1_000 });
  const producer = createProducer({ redis, redisPrefix: config.redisPrefix, attempts: config.jobAttempts });
  const catalog = createCatalog({ sandboxUrl: config.sandboxUrl });
  // Own connection: a subscribed Redis client can run no other command.
  const subscriber = createRedis(config.redisUrl, logger, 'api-sub');
  const bus = createInvalidationBus({ publisher: redis, subscriber, channel: `${config.redisPrefix}:invalidate` });
  await bus.ready();
  // Job event streams share the subscriber connection: one per process, fanned out in memory.
  const jobEvents = createJobEventHub({ subscriber, redisPrefix: config.redisPrefix });
  const ring = parseMasterKeys(config.vaultMasterKey);
  const metrics = createMetrics({ process: 'api', maxTenantLabels: config.metricsMaxTenantLabels });
  const board = createQueueBoard({ db, redis, redisPrefix: config.redisPrefix, logger, refreshMs: config.bullBoardRefreshMs });
  const tenants = createTenantCache({ db, bus });
  async function callbackUrlProblem(url: string): Promise<string | undefined> {
    const r = await checkCallbackUrl(url, {
      allowPrivate: config.webhookAllowPrivateNetworks,
      allowHttp: config.webhookAllowPrivateNetworks || config.nodeEnv !== 'production',
      resolve: opts.resolve,
    });
    return r.ok ? undefined : r.message;
  }
  const submitJob = createSubmitJob({
    db,
    producer,
    logger,
    tenants,
    quota: createToolCallQuota({
      redis: admissionRedis,
      redisPrefix: config.redisPrefix,
      countExecuted: (tid, env, from, to) => countExecutedToolCalls(db, tid, env, from, to),
    }),
    allowedModels: config.openai.allowedModels,
    catalog,
    metrics,
    callbackUrlProblem,
  });
  const app = createApp({
    ops: {
      metrics,
      metricsToken: config.metricsToken,
      board,
      beforeScrape: createQueueDepthSampler({ db, producer, metrics }),
    },
    db,
    redis,
    admissionRedis,
    jobEvents,
    eventsKeepAliveMs: opts.eventsKeepAliveMs,
    sessionIdleMs: config.sessionIdleMs,
    sessionCallWaitMs: opts.sessionCallWaitMs,
    producer,
    logger,
    operatorApiKey: config.operatorApiKey,
    redisPrefix: config.redisPrefix,
    submitJob,
    catalog,
    credentials: createCredentialStore(db, ring),
    tenantKeys: createTenantKeys({ db, bus, logger }),
    platformKeys: createPlatformKeys({ db, bus, logger }),
    tenants,
    webhookSecrets: createWebhookSecretStore(db, ring),
    async checkCallbackUrl(url) {
      const problem = await callbackUrlProblem(url);
      if (problem) throw new ApiError('validation_failed', 'The request body is invalid.', [{ path: 'body.callback_url', message: problem }]);
    },
  });
  // Enforce headersTimeout/requestTimeout within ~1 s of expiry (Node checks every 30 s by
  // default, so a slowloris client could hold a socket for up to 40 s).
  const server = http.createServer({ connectionsCheckingInterval: 1_000 }, app);
  // Slow clients cannot hold a connection open indefinitely (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // Parser-level refusals (huge headers, slow headers, garbage) answer in our JSON error shape.
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server.listen(opts.port ?? config.port, '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'api listening');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      // Open event streams end first, or the server would wait for them to finish.
      await jobEvents.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      // The last answers' enqueued marks are still being written.
      await submitJob.settled();
      await board.close();
      await producer.close();
      await bus.close();
      subscriber.disconnect();
      admissionRedis.disconnect();
      redis.disconnect();
      await db.destroy();
    },
  };
}
