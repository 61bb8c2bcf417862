import type { SessionRow } from '@agents/db';

/** The session object of API.md (create, get; `tool_calls_count` is added by get). */
export interface SessionView {
  id: string;
  object: 'session';
  user_id: string;
  tenant_id: string;
  environment: 'test' | 'live';
  servers: string[];
  metadata: Record<string, string>;
  status: 'active' | 'closed';
  created_at: string;
  expires_at: string;
  closed_at: string | null;
}

/** Whether the session takes calls: not closed, and its (idle or 24 h) deadline not passed. */
export function isSessionActive(row: SessionRow, now = new Date()): boolean {
  return row.closed_at === null && row.expires_at.getTime() > now.getTime();
}

/**
 * A stored session as clients see it. Expiry is read from the deadlines (nothing sweeps rows): a
 * session past its deadline is `closed`, closed when its deadline passed.
 */
export function presentSession(row: SessionRow, now = new Date()): SessionView {
  const active = isSessionActive(row, now);
  return {
    id: row.id,
    object: 'session',
    user_id: row.user_id,
    tenant_id: row.tenant_id,
    environment: row.environment,
    servers: row.servers,
    metadata: row.metadata,
    status: active ? 'active' : 'closed',
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    closed_at: row.closed_at ? row.closed_at.toISOString() : active ? null : row.expires_at.toISOString(),
  };
}
