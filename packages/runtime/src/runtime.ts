import type { Logger } from '@agents/observability';
import { createConnectionPool } from './connection-pool';
import { RuntimeError } from './errors';
import { createSession } from './session';
import type { Catalog } from './catalog-types';
import type { BeforeExecute, CreateSessionOptions, CredentialsSource, Session, ToolCallRecord } from './types';

export interface RuntimeOptions {
  catalog: Catalog;
  credentials: CredentialsSource;
  logger: Logger;
  /**
   * Observer called synchronously once per execute (executed or denied) before it resolves, with
   * the record the result also carries (`result.record`); for metrics. Usage rows are written from
   * `result.record` by whoever stores the call, so a call is billed once, with its step.
   */
  onToolCall?: (record: ToolCallRecord) => void;
  /** Admission check before each call reaches its server; throwing refuses it (see BeforeExecute). */
  beforeExecute?: BeforeExecute;
  /** Cap on live MCP connections (all tenants). Default 500. */
  maxConnections?: number;
  /** Idle time (ms) after which a pooled connection is closed. Default 300 000 (5 min). */
  idleMs?: number;
  /** Spawn/connect + initialize deadline (ms). Default 15 000. */
  connectTimeoutMs?: number;
  /** Per-call deadline (ms) unless execute passes its own. Default 60 000. */
  callTimeoutMs?: number;
  /** How often (ms) idle connections are swept; 0 disables the timer (call `evictIdle()` yourself). Default min(idleMs, 60 000). */
  sweepIntervalMs?: number;
  /** Clock (ms) for idle accounting; tests inject one instead of waiting. */
  now?: () => number;
}

export interface RuntimeStats {
  /** Live (connected or connecting) MCP connections. */
  connections: number;
  /** Open sessions. */
  sessions: number;
}

export interface Runtime {
  sessions: { create(opts: CreateSessionOptions): Session };
  /** Close connections idle for at least `idleMs`; returns how many were closed. */
  evictIdle(): Promise<number>;
  stats(): RuntimeStats;
  /** Closes every session and pooled connection, and stops the sweep timer. Idempotent. */
  close(): Promise<void>;
}

const ENVIRONMENTS = new Set(['test', 'live']);

export function createRuntime(opts: RuntimeOptions): Runtime {
  const idleMs = opts.idleMs ?? 5 * 60_000;
  const pool = createConnectionPool({
    logger: opts.logger,
    maxConnections: opts.maxConnections,
    idleMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    now: opts.now,
  });
  const open = new Set<Session>();
  let closed = false;
  const sweepEvery = opts.sweepIntervalMs ?? Math.min(idleMs, 60_000);
  const sweeper =
    sweepEvery > 0
      ? setInterval(() => {
          pool.evictIdle().catch((err: unknown) => opts.logger.warn({ err: String(err) }, 'idle sweep failed'));
        }, sweepEvery)
      : null;
  // The sweep must never keep a process alive on its own.
  sweeper?.unref();

  const deps = {
    catalog: opts.catalog,
    credentials: opts.credentials,
    pool,
    logger: opts.logger,
    onToolCall: opts.onToolCall,
    beforeExecute: opts.beforeExecute,
    callTimeoutMs: opts.callTimeoutMs ?? 60_000,
    onClose: (s: Session) => {
      open.delete(s);
    },
  };

  return {
    sessions: {
      create(o: CreateSessionOptions): Session {
        if (closed) throw new RuntimeError('runtime_closed', 'runtime is closed');
        if (typeof o.tenantId !== 'string' || o.tenantId === '') {
          throw new RuntimeError('invalid_session_options', 'tenantId is required');
        }
        if (!ENVIRONMENTS.has(o.environment)) {
          throw new RuntimeError('invalid_session_options', 'environment must be "test" or "live"');
        }
        if (!Array.isArray(o.servers)) throw new RuntimeError('invalid_session_options', 'servers must be an array');
        const servers: string[] = [];
        for (const s of o.servers) {
          if (typeof s !== 'string' || !opts.catalog.get(s)) {
            throw new RuntimeError('unknown_server', `server "${String(s)}" is not in the catalog`);
          }
          if (!servers.includes(s)) servers.push(s);
        }
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(o.metadata ?? {})) {
          if (typeof v !== 'string') throw new RuntimeError('invalid_session_options', `metadata.${k} must be a string`);
          metadata[k] = v;
        }
        // The caller cannot override the tenant a session bills to.
        metadata.tenant_id = o.tenantId;
        const session = createSession({ id: o.id, tenantId: o.tenantId, environment: o.environment, servers, metadata }, deps);
        open.add(session);
        return session;
      },
    },
    evictIdle: () => pool.evictIdle(),
    stats: () => ({ connections: pool.stats().connections, sessions: open.size }),
    async close() {
      if (closed) return;
      closed = true;
      if (sweeper) clearInterval(sweeper);
      await Promise.all([...open].map((s) => s.close()));
      await pool.close();
    },
  };
}
