import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '@agents/config';
import { createCredentialStore, createDb } from '@agents/db';
import { parseMasterKeys } from '@agents/vault';
import { createProducer, createRedis } from '@agents/queue';
import { createCatalog } from '@agents/runtime';
import { checkCallbackUrl } from '@agents/webhooks';
import type { Logger } from '@agents/observability';
import { createApp } from './app';
import { ApiError } from './errors';

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds and starts one API process. main.ts and the tests share this wiring. */
export async function startApi(config: Config, logger: Logger, opts: { port?: number } = {}): Promise<ApiServer> {
  const db = createDb({ url: config.databaseUrl, max: config.databasePoolMax });
  const redis = createRedis(config.redisUrl, logger, 'api');
  const producer = createProducer({ redis, redisPrefix: config.redisPrefix, attempts: config.jobAttempts });
  const catalog = createCatalog({ sandboxUrl: config.sandboxUrl });
  const app = createApp({
    db,
    redis,
    producer,
    logger,
    operatorApiKey: config.operatorApiKey,
    catalog,
    credentials: createCredentialStore(db, parseMasterKeys(config.vaultMasterKey)),
    async checkCallbackUrl(url) {
      const r = await checkCallbackUrl(url, {
        allowPrivate: config.webhookAllowPrivateNetworks,
        allowHttp: config.webhookAllowPrivateNetworks || config.nodeEnv !== 'production',
      });
      if (!r.ok) throw new ApiError('validation_failed', 'The request body is invalid.', [{ path: 'body.callback_url', message: r.message }]);
    },
  });
  const server = http.createServer(app);
  // Slow clients cannot hold a connection open indefinitely (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? config.port, '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'api listening');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await producer.close();
      redis.disconnect();
      await db.destroy();
    },
  };
}
