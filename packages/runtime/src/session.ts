import { withCallSignal } from './call-signal';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@agents/observability';
import { UnparsedArguments, isPlainObject } from './arguments';
import { RuntimeError, isRuntimeError } from './errors';
import type { ToolErrorCode } from './errors';
import { newId } from '@agents/db';
import { fillTransport, scrubSecrets } from './template';
import { assignModelNames, canonicalToolName, resolveToolName } from './tool-names';
import { classifyCallError, errorText, outcomeFromCallResult } from './tool-result';
import type { Catalog } from './catalog-types';
import type { ConnectionPool, PoolEntry } from './connection-pool';
import type { McpConnection, McpTool } from './mcp-connection';
import type { BeforeExecute, CredentialsSource, Environment, ExecuteOptions, Session, Tool, ToolCallRecord, ToolResult } from './types';

export interface SessionDeps {
  catalog: Catalog;
  credentials: CredentialsSource;
  pool: ConnectionPool;
  logger: Logger;
  onToolCall?: (record: ToolCallRecord) => void;
  beforeExecute?: BeforeExecute;
  callTimeoutMs: number;
  onClose(session: Session): void;
}

export interface SessionInit {
  id?: string;
  tenantId: string;
  environment: Environment;
  servers: readonly string[];
  metadata: Record<string, string>;
}

interface ServerState {
  entry: PoolEntry | null;
  attaching: Promise<PoolEntry> | null;
  /** The server's tools as this session first saw them (one listing per session per server). */
  tools: Map<string, McpTool> | null;
}

interface Failure {
  code: ToolErrorCode;
  message: string;
  data?: unknown;
}

/** Build a session; no I/O happens here (connections are made on first use per server). */
export function createSession(init: SessionInit, deps: SessionDeps): Session {
  const id = init.id ?? newId('ses');
  const servers = Object.freeze([...init.servers]);
  const metadata = Object.freeze({ ...init.metadata });
  const state = new Map<string, ServerState>();
  for (const s of servers) state.set(s, { entry: null, attaching: null, tools: null });
  let status: 'active' | 'closed' = 'active';
  /** model name → (server, tool); complete only after tools() listed every server. */
  let modelNames: Map<string, { server: string; tool: string }> | null = null;
  const log = deps.logger;

  async function attach(server: string): Promise<PoolEntry> {
    const st = state.get(server) as ServerState;
    if (st.entry && !st.entry.removed) return st.entry;
    st.attaching ??= (async () => {
      const entry = deps.catalog.get(server);
      if (!entry) throw new RuntimeError('connection_failed', `server ${server} is not in the catalog`);
      const creds = await deps.credentials.get(init.tenantId, server, init.environment);
      const filled = fillTransport(entry, creds?.values ?? {});
      if (!filled.ok) throw new RuntimeError(filled.code, filled.message);
      if (status === 'closed') throw new RuntimeError('session_closed', 'session is closed');
      const pe = deps.pool.attach(
        { tenantId: init.tenantId, server, environment: init.environment, version: creds?.version ?? 'none' },
        filled.transport,
        filled.secrets,
      );
      st.entry = pe;
      return pe;
    })().finally(() => {
      st.attaching = null;
    });
    return st.attaching;
  }

  async function serverTools(server: string): Promise<Map<string, McpTool>> {
    const st = state.get(server) as ServerState;
    if (st.tools) return st.tools;
    const entry = await attach(server);
    const list = await withConnection(entry, (conn) => conn.listTools());
    st.tools ??= new Map(list.map((t) => [t.name, t]));
    return st.tools;
  }

  /** Run `fn` on the entry's connection; a dead transport gets exactly one reconnect. */
  async function withConnection<T>(entry: PoolEntry, fn: (conn: McpConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    deps.pool.begin(entry);
    try {
      for (let attempt = 0; ; attempt++) {
        const conn = await deps.pool.connection(entry);
        try {
          return await fn(conn);
        } catch (err) {
          if (classifyCallError(err, signal) !== 'transport' || attempt >= 1) throw err;
          log.warn(
            { server: entry.parts.server, tenant_id: entry.parts.tenantId, err: scrub(entry, errorText(err)) },
            'mcp transport failed; reconnecting once',
          );
          await deps.pool.discard(entry, conn);
        }
      }
    } finally {
      deps.pool.end(entry);
    }
  }

  function scrub(entry: PoolEntry | null, text: string): string {
    return entry ? scrubSecrets(text, deps.pool.secretsOf(entry)) : text;
  }

  function failureFrom(err: unknown, entry: PoolEntry | null, signal?: AbortSignal): Failure {
    if (isRuntimeError(err)) {
      const code: ToolErrorCode =
        err.code === 'credentials_missing' || err.code === 'session_closed' || err.code === 'connection_failed' ? err.code : 'connection_failed';
      return { code, message: scrub(entry, err.message) };
    }
    const kind = classifyCallError(err, signal);
    const message = scrub(entry, errorText(err));
    if (kind === 'aborted') return { code: 'aborted', message: 'call aborted by caller' };
    if (kind === 'timeout') return { code: 'timeout', message };
    if (kind === 'protocol') {
      const e = err as { code?: unknown; message?: unknown };
      return { code: 'provider_error', message, data: { code: e.code, message } };
    }
    return { code: 'connection_failed', message };
  }

  async function tools(): Promise<Tool[]> {
    if (status === 'closed') throw new RuntimeError('session_closed', 'session is closed');
    const out: Array<Omit<Tool, 'model_name'>> = [];
    let complete = true;
    await Promise.all(
      servers.map(async (server) => {
        try {
          const list = await serverTools(server);
          for (const t of list.values()) {
            out.push({
              name: canonicalToolName(server, t.name),
              description: t.description,
              input_schema: t.inputSchema,
              server,
              tool: t.name,
            });
          }
        } catch (err) {
          complete = false;
          const f = failureFrom(err, state.get(server)?.entry ?? null);
          log.warn({ session_id: id, tenant_id: init.tenantId, server, code: f.code, err: f.message }, 'server unavailable; its tools are left out');
        }
      }),
    );
    // Stable order regardless of which server answered first.
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const names = assignModelNames(out);
    if (complete) {
      modelNames = new Map(out.map((t) => [names.get(t.name) as string, { server: t.server, tool: t.tool }]));
    }
    return out.map((t) => ({ ...t, model_name: names.get(t.name) as string }));
  }

  async function execute(name: string, args: unknown, opts: ExecuteOptions = {}): Promise<ToolResult> {
    const started = performance.now();
    const calledAt = new Date();
    const toolCallId = opts.toolCallId ?? newId('tc', calledAt.getTime());
    const idem = typeof opts.idempotencyKey === 'string' && opts.idempotencyKey !== '' ? opts.idempotencyKey : null;

    const finish = (
      server: string,
      tool: string,
      denied: boolean,
      outcome: { success: boolean; data: unknown; error: string | null; error_code: ToolErrorCode | null },
    ): ToolResult => {
      const duration = Math.round(performance.now() - started);
      const record: ToolCallRecord = {
        tool_call_id: toolCallId,
        tenant_id: init.tenantId,
        environment: init.environment,
        session_id: id,
        server,
        tool,
        success: outcome.success,
        error_code: outcome.error_code,
        duration_ms: duration,
        denied,
        idempotency_key: idem,
        metadata: { ...metadata },
      };
      const result: ToolResult = {
        success: outcome.success,
        data: outcome.data,
        error: outcome.error,
        error_code: outcome.error_code,
        duration,
        server,
        tool,
        tool_call_id: toolCallId,
        called_at: calledAt.toISOString(),
        record,
      };
      if (deps.onToolCall) {
        try {
          deps.onToolCall(record);
        } catch (err) {
          // An observer (metrics) must not turn into a tool failure.
          log.error({ session_id: id, tool_call_id: toolCallId, err: errorText(err) }, 'onToolCall hook threw');
        }
      }
      return result;
    };
    const fail = (server: string, tool: string, denied: boolean, f: Failure) =>
      finish(server, tool, denied, { success: false, data: f.data ?? null, error: f.message, error_code: f.code });

    let resolved = resolveToolName(name, servers, modelNames ?? undefined);
    if (status === 'closed') {
      return fail(resolved.server, resolved.tool, true, { code: 'session_closed', message: 'session is closed' });
    }
    if (!resolved.ok) {
      const message =
        resolved.code === 'server_not_in_session'
          ? `server "${resolved.server}" is not part of this session`
          : `tool "${resolved.tool}" is not available in this session`;
      return fail(resolved.server, resolved.tool, true, { code: resolved.code, message });
    }

    let server = resolved.server;
    let tool = resolved.tool;
    let entry: PoolEntry | null = null;
    try {
      let list = await serverTools(server);
      if (!list.has(tool) && typeof name === 'string' && name.includes('__') && !modelNames) {
        // Possibly a truncated+hashed model name issued by getTools in another process: build the
        // full model-name table (lists only this session's own servers) and resolve again.
        await tools();
        resolved = resolveToolName(name, servers, modelNames ?? undefined);
        if (resolved.ok) {
          server = resolved.server;
          tool = resolved.tool;
          list = await serverTools(server);
        }
      }
      if (!list.has(tool)) {
        return fail(server, tool, true, {
          code: 'tool_not_found',
          message: `tool "${tool}" is not available on server ${server}`,
        });
      }
    } catch (err) {
      return fail(server, tool, false, failureFrom(err, state.get(server)?.entry ?? null, opts.signal));
    }

    if (args instanceof UnparsedArguments) {
      return fail(server, tool, false, { code: 'invalid_arguments', message: args.reason });
    }
    if (args === undefined || args === null) args = {};
    if (!isPlainObject(args)) {
      return fail(server, tool, false, { code: 'invalid_arguments', message: 'arguments must be a JSON object' });
    }
    if (opts.signal?.aborted) return fail(server, tool, false, { code: 'aborted', message: 'call aborted by caller' });
    // Admission (quota): a refusal propagates as a rejection, before any server is contacted.
    if (deps.beforeExecute) {
      await deps.beforeExecute({ tenantId: init.tenantId, environment: init.environment, sessionId: id, server, tool, idempotencyKey: idem });
    }

    try {
      entry = await attach(server);
      const timeout = opts.timeoutMs ?? deps.callTimeoutMs;
      const callArgs = args;
      const connected = entry;
      // A signal per call: the MCP client leaves its listener on the signal it is given, and a
      // caller's job-long signal would otherwise collect one per tool call.
      const result = await withCallSignal(opts.signal, (signal) =>
        withConnection(
          connected,
          (conn) =>
            conn.client.callTool({ name: tool, arguments: callArgs, ...(idem ? { _meta: { idempotency_key: idem } } : {}) }, undefined, {
              signal,
              timeout,
              maxTotalTimeout: timeout,
            }),
          signal,
        ),
      );
      const outcome = outcomeFromCallResult(result as Record<string, unknown>);
      if (outcome.success) return finish(server, tool, false, { ...outcome, error_code: null });
      return finish(server, tool, false, {
        success: false,
        data: outcome.data,
        error: scrub(entry, outcome.error ?? 'tool reported an error'),
        error_code: 'provider_error',
      });
    } catch (err) {
      return fail(server, tool, false, failureFrom(err, entry, opts.signal));
    }
  }

  const session: Session = {
    id,
    tenantId: init.tenantId,
    environment: init.environment,
    servers,
    metadata,
    createdAt: new Date(),
    get status() {
      return status;
    },
    tools,
    execute,
    async close() {
      if (status === 'closed') return;
      status = 'closed';
      for (const st of state.values()) {
        if (st.entry) deps.pool.detach(st.entry);
        st.entry = null;
      }
      deps.onClose(session);
    },
  };
  return session;
}
