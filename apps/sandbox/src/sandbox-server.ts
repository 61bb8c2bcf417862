import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createSandboxState, getProvider, isProviderId, ProviderError, SandboxError } from '@agents/sandbox-providers';
import type { ProviderDefinition, ProviderId } from '@agents/sandbox-providers';
import type { Logger } from '@agents/observability';
import { credentialsFromHeaders } from './credentials';
import { createProviderMcpServer } from './provider-mcp-server';
import type { SandboxRequest } from './provider-mcp-server';
import { createWebhookSender } from './webhook-sender';

export interface SandboxServerOptions {
  /** 0 picks a random free port. Default 4010. */
  port?: number;
  /** Default 127.0.0.1: the sandbox is a test/demo surface, not for the open network. */
  host?: string;
  logger: Logger;
  /** Delay before every tool call answers (ms), for benchmarks with a known job duration. Default 0. */
  callLatencyMs?: number;
  /** Delay between a call's effect and its answer (ms), for crash tests. Default 0. */
  answerDelayMs?: number;
}

export interface SandboxServer {
  url: string;
  port: number;
  /** Every tools/call that reached the service, oldest first (cleared by DELETE /sandbox/requests). */
  requestLog: SandboxRequest[];
  close(): Promise<void>;
}

/** Sessions idle longer than this are dropped (ms). */
const SESSION_IDLE_MS = 10 * 60 * 1000;
/** How often idle sessions are looked for (ms). */
const SWEEP_EVERY_MS = 60 * 1000;
/** Largest MCP or control request body accepted. */
const BODY_LIMIT = '1mb';

interface Session {
  server: ProviderId;
  transport: StreamableHTTPServerTransport;
  mcp: McpServer;
  lastSeen: number;
}

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

function controlError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

export async function createSandboxServer(opts: SandboxServerOptions): Promise<SandboxServer> {
  const logger = opts.logger;
  const state = createSandboxState();
  const requestLog: SandboxRequest[] = [];
  const webhooks = createWebhookSender({ logger });
  const sessions = new Map<string, Session>();

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: BODY_LIMIT }));

  function providerOr404(req: Request, res: Response): ProviderDefinition | undefined {
    const id = String(req.params.server);
    const provider = isProviderId(id) ? getProvider(id) : undefined;
    if (!provider) controlError(res, 404, 'unknown_server', `Unknown sandbox server '${id}'.`);
    return provider;
  }

  async function handleMcp(req: Request, res: Response): Promise<void> {
    const provider = providerOr404(req, res);
    if (!provider) return;
    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session || session.server !== provider.id) {
        jsonRpcError(res, 404, -32001, 'Session not found');
        return;
      }
      session.lastSeen = Date.now();
      await session.transport.handleRequest(req, res, req.body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      jsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
      return;
    }
    // Only initialize builds a server and a transport; every later request reuses them.
    const mcp = createProviderMcpServer({
      provider,
      state,
      logger,
      credentials: (extra) => credentialsFromHeaders(provider, extra.requestInfo?.headers ?? {}),
      onRequest: (r) => requestLog.push(r),
      onWebhooks: (w) => webhooks.send(w),
      callLatencyMs: opts.callLatencyMs,
      answerDelayMs: opts.answerDelayMs,
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        sessions.set(id, { server: provider.id, transport, mcp, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  app.all('/mcp/:server', (req, res, next) => {
    handleMcp(req, res).catch(next);
  });

  function accountOr400(req: Request, res: Response): string | undefined {
    const account = req.header('x-sandbox-account');
    if (!account) controlError(res, 400, 'validation_failed', 'Header X-Sandbox-Account is required.');
    return account || undefined;
  }

  app.get('/sandbox/requests', (_req, res) => {
    res.json({ data: requestLog });
  });

  app.delete('/sandbox/requests', (_req, res) => {
    requestLog.length = 0; // same array: holders of `requestLog` see the reset
    res.status(204).end();
  });

  app.get('/sandbox/:server/objects', (req, res) => {
    const provider = providerOr404(req, res);
    if (!provider) return;
    const account = accountOr400(req, res);
    if (!account) return;
    res.json({ data: state.listObjects(provider.id, account) });
  });

  app.post('/sandbox/:server/simulate', (req, res) => {
    const provider = providerOr404(req, res);
    if (!provider) return;
    const account = accountOr400(req, res);
    if (!account) return;
    const body = (req.body ?? {}) as { action?: unknown; id?: unknown };
    if (typeof body.action !== 'string' || typeof body.id !== 'string' || body.id.length === 0) {
      controlError(res, 400, 'validation_failed', 'Body must be {"action": string, "id": string}.');
      return;
    }
    const outcome = state.simulate(provider.id, account, body.action, body.id);
    webhooks.send(outcome.webhooks);
    res.json(outcome.object);
  });

  app.put('/sandbox/:server/webhook', (req, res) => {
    const provider = providerOr404(req, res);
    if (!provider) return;
    const account = accountOr400(req, res);
    if (!account) return;
    const body = (req.body ?? {}) as { url?: unknown; secret?: unknown };
    let url: URL | null = null;
    try {
      url = typeof body.url === 'string' ? new URL(body.url) : null;
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      controlError(res, 400, 'validation_failed', 'url must be an http(s) URL.');
      return;
    }
    if (typeof body.secret !== 'string' || body.secret.length < 8 || body.secret.length > 500) {
      controlError(res, 400, 'validation_failed', 'secret must be a string of 8-500 characters.');
      return;
    }
    state.setWebhook(provider.id, account, { url: url.toString(), secret: body.secret });
    // The secret is never echoed back.
    res.json({ server: provider.id, url: url.toString() });
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', sessions: sessions.size });
  });

  app.use((_req: Request, res: Response) => {
    controlError(res, 404, 'not_found', 'Route not found.');
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof SandboxError || err instanceof ProviderError) {
      controlError(res, err.status, err.code, err.message);
      return;
    }
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.parse.failed') {
      controlError(res, 400, 'invalid_json', 'Body is not valid JSON.');
      return;
    }
    if (e.type === 'entity.too.large') {
      controlError(res, 413, 'payload_too_large', `Body over ${BODY_LIMIT}.`);
      return;
    }
    logger.error({ err }, 'sandbox request failed');
    if (!res.headersSent) controlError(res, 500, 'internal', 'Internal sandbox error.');
  });

  const sweep = setInterval(() => {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const [id, s] of sessions) {
      if (s.lastSeen < cutoff) {
        sessions.delete(id);
        void s.transport.close().catch(() => undefined);
      }
    }
  }, SWEEP_EVERY_MS);
  sweep.unref();

  const host = opts.host ?? '127.0.0.1';
  const http: HttpServer = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 4010, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, 'sandbox listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    requestLog,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        const all = [...sessions.values()];
        sessions.clear();
        await Promise.all(all.map((s) => s.transport.close().catch(() => undefined)));
        await webhooks.drain();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
