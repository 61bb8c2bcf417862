import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport, DEFAULT_INHERITED_ENV_VARS } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { RuntimeError } from './errors';
import { createHttpFetch } from './http-fetch';
import { scrubSecrets } from './template';
import type { FilledTransport } from './template';

/** One tool as its MCP server lists it. */
export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** A live, initialised MCP client plus what the pool needs to manage it. */
export interface McpConnection {
  readonly client: Client;
  readonly kind: 'http' | 'stdio';
  /** Becomes true when the transport closed (stdio child exited, or we closed it). */
  readonly closed: boolean;
  /** tools/list, fetched once per connection (all pages) and cached. */
  listTools(): Promise<McpTool[]>;
  close(): Promise<void>;
  onClose(cb: () => void): void;
  /** Last bytes the child wrote to stderr, secrets scrubbed (stdio only; for error messages). */
  stderrTail(): string;
}

export interface OpenConnectionOptions {
  server: string;
  transport: FilledTransport;
  /** Secret values to scrub from any message we surface. */
  secrets: readonly string[];
  /** Deadline for spawn/connect + initialize, ms. */
  connectTimeoutMs: number;
  clientName?: string;
}

const STDERR_TAIL_CHARS = 600;

/** undici's error codes for a pooled keep-alive socket the server had already closed. */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'UND_ERR_CLOSED']);

/**
 * After a server restart, fetch's keep-alive pool may hold several dead sockets; each request
 * sent on one fails with "other side closed" without reaching the server. Retry such failures
 * (bounded) so one reconnect is enough. Connection refused is not retried here: the server is down.
 */
async function staleSocketRetryingFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(input, init);
    } catch (err) {
      const code = (err as { cause?: { code?: unknown } })?.cause?.code;
      if (attempt >= 3 || typeof code !== 'string' || !STALE_SOCKET_CODES.has(code) || init?.signal?.aborted) throw err;
    }
  }
}

/**
 * The SDK's HTTP transport passes ONE connection-wide AbortSignal to every fetch, and undici adds an
 * abort listener to it per request that it drops only when that request is garbage collected: a
 * pooled connection serving thousands of calls piles up listeners (MaxListenersExceededWarning at
 * 1,500, memory held until GC). Each request gets a signal of its own instead, relayed from the
 * connection's, and the relay is removed as soon as the response body has been read, cancelled
 * or failed — so closing the connection still aborts whatever is in flight, streams included.
 */
export async function signalIsolatingFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  const parent = init?.signal;
  if (!parent || parent.aborted) return staleSocketRetryingFetch(input, init);
  const own = new AbortController();
  const relay = () => own.abort(parent.reason);
  parent.addEventListener('abort', relay, { once: true });
  const unrelay = () => parent.removeEventListener('abort', relay);
  let res: Response;
  try {
    res = await staleSocketRetryingFetch(input, { ...init, signal: own.signal });
  } catch (err) {
    unrelay();
    throw err;
  }
  if (!res.body) {
    unrelay();
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          unrelay();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        unrelay();
        controller.error(err);
      }
    },
    cancel(reason) {
      unrelay();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** The MCP HTTP transport's fetch: node:http keep-alive (see http-fetch.ts); anything else through fetch. */
export const mcpHttpFetch = createHttpFetch(signalIsolatingFetch);

function buildTransport(t: FilledTransport, onStderr: (chunk: string) => void): Transport {
  if (t.type === 'http') {
    // Credentials ride only in these request headers; the URL carries none.
    return new StreamableHTTPClientTransport(new URL(t.url), {
      requestInit: { headers: t.headers },
      fetch: mcpHttpFetch,
    });
  }
  // The SDK always merges its "safe" inherited variables (HOME, USER, SHELL…) into the child env;
  // we pass those keys as undefined so the child gets exactly the template env plus PATH.
  const env: Record<string, string | undefined> = {};
  for (const k of DEFAULT_INHERITED_ENV_VARS) env[k] = undefined;
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  Object.assign(env, t.env);
  const transport = new StdioClientTransport({
    command: t.command,
    args: t.args,
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer | string) => onStderr(chunk.toString()));
  return transport;
}

export async function openConnection(opts: OpenConnectionOptions): Promise<McpConnection> {
  let stderr = '';
  let closed = false;
  const closeListeners: Array<() => void> = [];
  const transport = buildTransport(opts.transport, (chunk) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const client = new Client({ name: opts.clientName ?? 'agents-runtime', version: '0.1.0' }, { capabilities: {} });
  client.onclose = () => {
    closed = true;
    for (const cb of closeListeners.splice(0)) cb();
  };
  // Transport-level errors (e.g. a failed background SSE GET) surface through failing requests;
  // the default handler would only print them.
  client.onerror = () => undefined;

  const tail = () => scrubSecrets(stderr, opts.secrets).trim().split('\n').slice(-4).join(' | ');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(transport, { timeout: opts.connectTimeoutMs }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`connect timed out after ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      }),
    ]);
  } catch (err) {
    await client.close().catch(() => undefined);
    const what = opts.transport.type === 'http' ? 'http' : `stdio "${opts.transport.command}"`;
    const detail = scrubSecrets(err instanceof Error ? err.message : String(err), opts.secrets);
    const stderrText = opts.transport.type === 'stdio' ? tail() : '';
    throw new RuntimeError(
      'connection_failed',
      `could not connect to server ${opts.server} (${what}): ${detail}${stderrText ? ` — stderr: ${stderrText}` : ''}`,
    );
  } finally {
    if (timer) clearTimeout(timer);
  }

  let toolsPromise: Promise<McpTool[]> | null = null;
  return {
    client,
    kind: opts.transport.type,
    get closed() {
      return closed;
    },
    listTools() {
      toolsPromise ??= (async () => {
        const out: McpTool[] = [];
        let cursor: string | undefined;
        // Pages are bounded so a misbehaving server cannot keep us listing forever.
        for (let page = 0; page < 100; page++) {
          const res = await client.listTools(cursor ? { cursor } : undefined, { timeout: opts.connectTimeoutMs });
          for (const t of res.tools) {
            out.push({
              name: t.name,
              description: t.description ?? '',
              inputSchema: (t.inputSchema as Record<string, unknown>) ?? { type: 'object' },
            });
          }
          cursor = res.nextCursor;
          if (!cursor) break;
        }
        return out;
      })();
      // A failed listing must not be cached for the connection's lifetime.
      toolsPromise.catch(() => {
        toolsPromise = null;
      });
      return toolsPromise;
    },
    async close() {
      if (closed) return;
      await client.close().catch(() => undefined);
      closed = true;
    },
    onClose(cb) {
      if (closed) cb();
      else closeListeners.push(cb);
    },
    stderrTail: tail,
  };
}
