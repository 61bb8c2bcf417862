import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { isAbortError, isModelError } from '@agents/agent';
import type { ModelProvider } from '@agents/agent';
import type { Logger } from '@agents/observability';
import { errorBody, errorTypeForStatus, RequestValidationError, toChatCompletion, toModelRequest } from './chat-completion';
import { createFailureInjector, parseStatusList } from './failure-injector';
import type { InjectedFailure } from './failure-injector';

export interface ModelServerOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** What answers the completions; usually the scripted model. */
  model: ModelProvider;
  logger: Logger;
  /** Request body limit (bytes). Default 8 MiB: long agent conversations with tool results. */
  bodyLimitBytes?: number;
}

export interface ModelServerStats {
  /** Chat-completion requests received (including injected failures and invalid ones). */
  received: number;
  /** Requests answered with an injected failure. */
  injected_failures: number;
  /** Requests answered with a completion. */
  completed: number;
}

export interface ModelServer {
  /** Base URL to use as OPENAI_BASE_URL, ending in /v1. */
  url: string;
  port: number;
  /** Counters since start or the last reset (also served at GET /_sandbox/stats). */
  stats(): ModelServerStats;
  /** Makes the next chat-completion requests fail in order (also POST /_sandbox/failures). */
  injectFailures(failures: InjectedFailure[]): void;
  /** Clears counters and pending failures (also POST /_sandbox/reset). */
  reset(): void;
  /** Aborts in-flight completions, closes every connection and stops listening. */
  close(): Promise<void>;
}

function sendError(res: Response, status: number, message: string, param: string | null = null): void {
  const { type, code } = errorTypeForStatus(status);
  res.status(status).json(errorBody(message, type, code, param));
}

function hasBearer(req: Request): boolean {
  const h = req.headers.authorization;
  return typeof h === 'string' && /^Bearer\s+\S+/i.test(h);
}

function sendInjected(res: Response, failure: InjectedFailure): void {
  if (failure.retryAfterS !== undefined) res.setHeader('retry-after', String(failure.retryAfterS));
  if (failure.retryAfterMs !== undefined) res.setHeader('retry-after-ms', String(failure.retryAfterMs));
  sendError(res, failure.status, `Injected failure (HTTP ${failure.status}) from the model-sandbox`);
}

/**
 * An OpenAI-compatible HTTP front for any ModelProvider: `POST /v1/chat/completions`
 * (non-streaming) and `GET /v1/models`. Any bearer key is accepted (none is a 401, as OpenAI does);
 * the key is never logged. Pointing the `openai` provider at it exercises the real client code path.
 */
export async function createModelServer(opts: ModelServerOptions): Promise<ModelServer> {
  const { model, logger } = opts;
  const host = opts.host ?? '127.0.0.1';
  const injector = createFailureInjector();
  const inFlight = new Set<AbortController>();
  let counters: ModelServerStats = { received: 0, injected_failures: 0, completed: 0 };

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: opts.bodyLimitBytes ?? 8 * 1024 * 1024 }));

  const requireBearer = (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBearer(req)) {
      sendError(res, 401, 'Missing bearer token: send Authorization: Bearer <any key>');
      return;
    }
    next();
  };

  app.get('/v1/models', requireBearer, (_req, res) => {
    res.json({ object: 'list', data: [{ id: model.id, object: 'model', created: 0, owned_by: 'model-sandbox' }] });
  });

  app.post('/v1/chat/completions', requireBearer, async (req, res) => {
    counters.received++;
    const failure = injector.take({ fail: req.header('x-scripted-fail'), retryAfter: req.header('x-scripted-retry-after') }, JSON.stringify(req.body ?? null));
    if (failure) {
      counters.injected_failures++;
      logger.info({ status: failure.status }, 'model-sandbox: injected failure');
      sendInjected(res, failure);
      return;
    }

    let modelReq;
    try {
      modelReq = toModelRequest(req.body);
    } catch (err) {
      if (err instanceof RequestValidationError) {
        sendError(res, 400, err.message, err.param);
        return;
      }
      throw err;
    }

    // A client that disconnects (its own abort or timeout) cancels the model call.
    const ac = new AbortController();
    inFlight.add(ac);
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    const started = process.hrtime.bigint();
    try {
      const turn = await model.complete(modelReq, { signal: ac.signal });
      counters.completed++;
      logger.debug(
        {
          model: modelReq.model,
          turn: modelReq.messages.filter((m) => m.role === 'assistant').length,
          finish_reason: turn.finishReason,
          tool_calls: turn.message.tool_calls?.length ?? 0,
          duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'model-sandbox: completion',
      );
      res.json(toChatCompletion(modelReq.model, turn, Date.now()));
    } catch (err) {
      if (isAbortError(err) && ac.signal.aborted) {
        logger.debug('model-sandbox: client went away; completion aborted');
        return;
      }
      if (isModelError(err)) {
        sendError(res, err.status ?? 502, err.message);
        return;
      }
      logger.error({ err }, 'model-sandbox: model failed');
      sendError(res, 500, 'The model failed unexpectedly');
    } finally {
      inFlight.delete(ac);
    }
  });

  // Test hooks (the model-sandbox is a test and demo double, never exposed to tenants).
  app.post('/_sandbox/failures', (req, res) => {
    const b = (req.body ?? {}) as { statuses?: unknown; retry_after_s?: unknown; retry_after_ms?: unknown };
    const statuses = Array.isArray(b.statuses) ? parseStatusList(b.statuses.join(',')) : typeof b.statuses === 'string' ? parseStatusList(b.statuses) : [];
    if (statuses.length === 0) {
      sendError(res, 400, 'statuses must list HTTP statuses 400-599, e.g. [429, 500]', 'statuses');
      return;
    }
    const failures = statuses.map((status) => {
      const f: InjectedFailure = { status };
      if (typeof b.retry_after_s === 'number') f.retryAfterS = b.retry_after_s;
      if (typeof b.retry_after_ms === 'number') f.retryAfterMs = b.retry_after_ms;
      return f;
    });
    injector.enqueue(failures);
    res.json({ pending: injector.pending() });
  });
  app.get('/_sandbox/stats', (_req, res) => {
    res.json({ ...counters, pending_failures: injector.pending() });
  });
  app.post('/_sandbox/reset', (_req, res) => {
    counters = { received: 0, injected_failures: 0, completed: 0 };
    injector.reset();
    res.json({ ok: true });
  });

  app.use((_req: Request, res: Response) => {
    sendError(res, 404, 'Unknown route: the model-sandbox serves POST /v1/chat/completions and GET /v1/models');
  });
  // Express 5 routes async rejections here; body-parser errors carry `status` and `type`.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: unknown; type?: unknown };
    if (e && e.type === 'entity.parse.failed') {
      sendError(res, 400, 'Request body is not valid JSON');
      return;
    }
    if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      sendError(res, e.status, 'Invalid request');
      return;
    }
    logger.error({ err }, 'model-sandbox: unhandled error');
    if (!res.headersSent) sendError(res, 500, 'Internal error');
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/v1`;
  logger.info({ url, model: model.id }, 'model-sandbox listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    stats: () => ({ ...counters }),
    injectFailures: (failures) => injector.enqueue(failures),
    reset: () => {
      counters = { received: 0, injected_failures: 0, completed: 0 };
      injector.reset();
    },
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const ac of inFlight) ac.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets from clients would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
