import type { SessionRow } from '@agents/db';
import type { Runtime, Session } from '@agents/runtime';

export interface RuntimeSessionCache {
  /** The runtime session of a stored session over exactly `servers`, made on first use in this process. */
  get(row: SessionRow, servers: string[]): Session;
}

interface Cached {
  session: Session;
  servers: string;
  usedAt: number;
}

/**
 * A worker's runtime sessions, one per stored session it has run calls of: a runtime session lists
 * each server's tools once, so keeping it saves a listing round trip on every later call. Bounded
 * (least recently used goes first) and idle-evicted; closing one only detaches its pooled
 * connections. The runtime's own close ends whatever is still here.
 */
export function createRuntimeSessionCache(
  runtime: Pick<Runtime, 'sessions'>,
  opts: { max?: number; idleMs?: number; now?: () => number } = {},
): RuntimeSessionCache {
  const max = opts.max ?? 1000;
  const idleMs = opts.idleMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  // Insertion order is use order: every get re-inserts its entry.
  const cached = new Map<string, Cached>();

  function drop(id: string, c: Cached): void {
    cached.delete(id);
    void c.session.close();
  }

  return {
    get(row, servers) {
      const t = now();
      for (const [id, c] of cached) {
        if (cached.size < max && t - c.usedAt < idleMs) break;
        drop(id, c);
      }
      const key = servers.join(',');
      const hit = cached.get(row.id);
      if (hit) {
        cached.delete(row.id);
        // The tenant's servers changed since: the session's view must follow.
        if (hit.servers === key && hit.session.status === 'active') {
          hit.usedAt = t;
          cached.set(row.id, hit);
          return hit.session;
        }
        void hit.session.close();
      }
      const session = runtime.sessions.create({ id: row.id, tenantId: row.tenant_id, environment: row.environment, servers, metadata: row.metadata });
      cached.set(row.id, { session, servers: key, usedAt: t });
      return session;
    },
  };
}
