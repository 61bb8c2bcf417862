import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsEndpoint } from '@agents/observability';
import type { Logger, Metrics } from '@agents/observability';

export interface MetricsServerOptions {
  metrics: Metrics;
  /** WORKER_METRICS_PORT (default 9464, the conventional Prometheus exporter port); 0 here means "any free port". */
  port: number;
  /** Bearer tokens allowed to scrape (operator key, METRICS_TOKEN). */
  tokens: ReadonlyArray<string | undefined>;
  logger: Logger;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A worker process's own `GET /metrics` (workers have no HTTP API). Each worker pod is scraped
 * separately; counters are per process, so queries sum over `process="worker"` instances.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const endpoint = createMetricsEndpoint({ metrics: opts.metrics, tokens: opts.tokens });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      endpoint(req, res).catch((err) => {
        opts.logger.warn({ err: { message: (err as Error).message } }, 'metrics scrape failed');
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
      return;
    }
    res.statusCode = path === '/healthz' ? 200 : 404;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(path === '/healthz' ? '{"status":"ok"}' : '{"error":{"code":"not_found","message":"No such route."}}');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ port }, 'worker metrics listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
