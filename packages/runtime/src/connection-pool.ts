import type { Logger } from '@agents/observability';
import { RuntimeError } from './errors';
import { openConnection } from './mcp-connection';
import type { McpConnection } from './mcp-connection';
import type { FilledTransport } from './template';
import type { Environment } from './types';

export interface PoolKeyParts {
  tenantId: string;
  server: string;
  environment: Environment;
  /** Credential version; a new version opens a new entry. */
  version: string;
}

/**
 * One pool slot: a (tenant, server, environment, credential version) and at most one live
 * connection. Sessions attach to entries; the entry outlives its connection (idle eviction drops
 * the connection, the next call reconnects with the spec it keeps).
 */
export interface PoolEntry {
  readonly key: string;
  readonly parts: PoolKeyParts;
  /** Calls currently using the connection; an entry is never closed under a call. */
  inFlight: number;
  /** Sessions attached (they hold this entry until they close). */
  sessions: number;
  lastUsedAt: number;
  superseded: boolean;
  removed: boolean;
}

interface EntryInternal extends PoolEntry {
  transport: FilledTransport;
  secrets: readonly string[];
  conn: McpConnection | null;
  connecting: Promise<McpConnection> | null;
}

export interface ConnectionPoolOptions {
  logger: Logger;
  /** Cap on live connections across all tenants; LRU idle ones are closed to make room. Default 500. */
  maxConnections?: number;
  /** A connection unused this long (ms) is closed by `evictIdle()`. Default 300 000 (5 min). */
  idleMs?: number;
  /** Spawn/connect + initialize deadline, ms. Default 15 000. */
  connectTimeoutMs?: number;
  /** Clock (ms); injectable so eviction tests need no real waiting. */
  now?: () => number;
}

export interface ConnectionPool {
  /** Sync, no I/O: the entry for these parts (created if absent) with one session attached. */
  attach(parts: PoolKeyParts, transport: FilledTransport, secrets: readonly string[]): PoolEntry;
  detach(entry: PoolEntry): void;
  /** The entry's live connection, connecting (once, shared) if needed. */
  connection(entry: PoolEntry): Promise<McpConnection>;
  /** Drop a connection found dead so the next `connection()` reconnects. */
  discard(entry: PoolEntry, conn: McpConnection): Promise<void>;
  begin(entry: PoolEntry): void;
  end(entry: PoolEntry): void;
  secretsOf(entry: PoolEntry): readonly string[];
  evictIdle(): Promise<number>;
  stats(): { connections: number; entries: number };
  close(): Promise<void>;
}

export function poolKey(p: PoolKeyParts): string {
  // JSON keeps the key unambiguous whatever characters a tenant id holds.
  return JSON.stringify([p.tenantId, p.server, p.environment, p.version]);
}

export function createConnectionPool(opts: ConnectionPoolOptions): ConnectionPool {
  const maxConnections = opts.maxConnections ?? 500;
  const idleMs = opts.idleMs ?? 5 * 60_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const entries = new Map<string, EntryInternal>();
  let closed = false;

  const internal = (e: PoolEntry) => e as EntryInternal;
  const live = (e: EntryInternal) => e.conn !== null || e.connecting !== null;
  const liveCount = (except?: EntryInternal) => {
    let n = 0;
    for (const e of entries.values()) if (e !== except && live(e)) n++;
    return n;
  };

  async function dropConnection(e: EntryInternal, reason: string): Promise<void> {
    const conn = e.conn;
    e.conn = null;
    if (conn) {
      log.debug({ server: e.parts.server, tenant_id: e.parts.tenantId, reason }, 'mcp connection closed');
      await conn.close();
    }
  }

  /** Remove the entry entirely when nothing holds it and it has no reason to stay. */
  async function settle(e: EntryInternal): Promise<void> {
    if (e.removed || e.inFlight > 0 || e.sessions > 0) return;
    if (e.superseded || !live(e)) {
      e.removed = true;
      entries.delete(e.key);
      await dropConnection(e, e.superseded ? 'credentials_changed' : 'unused');
    }
  }

  async function makeRoom(self: EntryInternal): Promise<void> {
    // `self` is excluded: it is marked connecting while we wait for a victim to close.
    while (liveCount(self) >= maxConnections) {
      let victim: EntryInternal | null = null;
      for (const e of entries.values()) {
        if (e === self || e.conn === null || e.inFlight > 0) continue;
        if (!victim || e.lastUsedAt < victim.lastUsedAt) victim = e;
      }
      if (!victim) {
        throw new RuntimeError('connection_failed', `connection pool is full (${maxConnections} live connections, all busy)`);
      }
      await dropConnection(victim, 'lru');
      await settle(victim);
    }
  }

  return {
    attach(parts, transport, secrets) {
      if (closed) throw new RuntimeError('runtime_closed', 'runtime is closed');
      const key = poolKey(parts);
      let e = entries.get(key);
      if (!e) {
        e = {
          key,
          parts,
          inFlight: 0,
          sessions: 0,
          lastUsedAt: now(),
          superseded: false,
          removed: false,
          transport,
          secrets,
          conn: null,
          connecting: null,
        };
        entries.set(key, e);
        // A new credential version supersedes older ones for the same tenant/server/environment:
        // they close as soon as the sessions still using them are done.
        for (const other of entries.values()) {
          const p = other.parts;
          if (other !== e && p.tenantId === parts.tenantId && p.server === parts.server && p.environment === parts.environment) {
            other.superseded = true;
            void settle(other);
          }
        }
      }
      e.sessions++;
      return e;
    },

    detach(entry) {
      const e = internal(entry);
      e.sessions = Math.max(0, e.sessions - 1);
      void settle(e);
    },

    async connection(entry) {
      const e = internal(entry);
      if (e.conn && !e.conn.closed) return e.conn;
      if (closed) throw new RuntimeError('runtime_closed', 'runtime is closed');
      if (e.conn?.closed) e.conn = null;
      if (!e.connecting) {
        e.connecting = (async () => {
          await makeRoom(e);
          const conn = await openConnection({
            server: e.parts.server,
            transport: e.transport,
            secrets: e.secrets,
            connectTimeoutMs,
          });
          if (closed || e.removed) {
            await conn.close();
            throw new RuntimeError('connection_failed', 'runtime closed while connecting');
          }
          e.conn = conn;
          // stdio child exited (or server went away): forget the connection; the next call reconnects.
          conn.onClose(() => {
            if (e.conn === conn) e.conn = null;
          });
          log.debug({ server: e.parts.server, tenant_id: e.parts.tenantId }, 'mcp connection opened');
          return conn;
        })().finally(() => {
          e.connecting = null;
        });
      }
      return e.connecting;
    },

    async discard(entry, conn) {
      const e = internal(entry);
      if (e.conn === conn) e.conn = null;
      await conn.close();
    },

    begin(entry) {
      const e = internal(entry);
      e.inFlight++;
      e.lastUsedAt = now();
    },

    end(entry) {
      const e = internal(entry);
      e.inFlight = Math.max(0, e.inFlight - 1);
      e.lastUsedAt = now();
      if (e.inFlight === 0 && (e.superseded || e.sessions === 0)) void settle(e);
    },

    secretsOf(entry) {
      return internal(entry).secrets;
    },

    async evictIdle() {
      const t = now();
      let evicted = 0;
      for (const e of [...entries.values()]) {
        if (e.conn && e.inFlight === 0 && t - e.lastUsedAt >= idleMs) {
          evicted++;
          await dropConnection(e, 'idle');
        }
        await settle(e);
      }
      return evicted;
    },

    stats() {
      return { connections: liveCount(), entries: entries.size };
    },

    async close() {
      closed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(
        all.map(async (e) => {
          e.removed = true;
          await e.connecting?.catch(() => undefined);
          await dropConnection(e, 'shutdown');
        }),
      );
    },
  };
}
