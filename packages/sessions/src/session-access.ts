import { closeSession, environmentScope, getSession, insertSession, mayActAsTenant, newId, TENANT_ID, touchSession } from '@agents/db';
import type { Db, Environment, Principal, SessionRow, Tenant, TenantCache } from '@agents/db';
import { validationDetails } from '@agents/jobs';
import { createSessionBody, SESSION_ID } from './session-body';
import { SessionError } from './session-error';
import { presentSession } from './session-view';
import type { SessionView } from './session-view';

/** A session ends 24 h after it was created, however busy (API.md). */
export const SESSION_MAX_LIFETIME_MS = 24 * 3600_000;

export interface SessionAccessDeps {
  db: Db;
  tenants: Pick<TenantCache, 'get'>;
  /** Idle time after which a session expires (SESSION_IDLE_MS); each call moves the deadline. */
  idleMs: number;
}

/** A stored session with its tenant as the caches have it now. */
export interface FoundSession {
  session: SessionRow;
  tenant: Tenant;
}

export interface SessionAccess {
  /**
   * POST /v1/sessions: checks the body, the caller, the tenant and the servers, then stores the
   * session. `admit` runs once the tenant is known and before anything is written (the request
   * rate limit); throwing refuses the request.
   */
  open(principal: Principal, body: unknown, admit?: (tenant: Tenant) => Promise<void>): Promise<SessionView>;
  /** A session this caller may see (its tenant and environment, tenant enabled), active or not; else session_not_found. */
  find(principal: Principal, id: string): Promise<FoundSession>;
  /** Before a call: the session must be active (else session_closed); its idle deadline moves. */
  use(session: SessionRow): Promise<SessionRow>;
  /** DELETE: closes it (idempotent: closing a closed session is fine). */
  close(session: SessionRow): Promise<void>;
}

const notFound = () => new SessionError('session_not_found', 'No such session.');
const closed = () => new SessionError('session_closed', 'This session is closed; create a new one.');

/**
 * Who may see a session: the operator every one; a platform key those of its environment (any
 * tenant); a tenant key those of its tenant and environment. Everything else answers as an
 * unknown id, so a key never learns that another tenant's session exists.
 */
function visible(p: Principal, row: SessionRow): boolean {
  const scope = environmentScope(p);
  return (!scope || row.environment === scope) && mayActAsTenant(p, row.tenant_id);
}

export function createSessionAccess(deps: SessionAccessDeps): SessionAccess {
  const { db } = deps;

  async function find(p: Principal, id: string): Promise<FoundSession> {
    if (typeof id !== 'string' || !SESSION_ID.test(id)) throw notFound();
    const session = await getSession(db, id);
    if (!session || !visible(p, session)) throw notFound();
    const tenant = await deps.tenants.get(session.tenant_id);
    if (!tenant || tenant.disabled) throw notFound();
    return { session, tenant };
  }

  return {
    async open(p, raw, admit) {
      const parsed = createSessionBody.safeParse(raw ?? {});
      if (!parsed.success) throw new SessionError('validation_failed', 'The request body is invalid.', validationDetails('body', parsed.error));
      const body = parsed.data;
      const tenantId = body.user_id ?? (p.kind === 'tenant' ? p.tenantId : undefined);
      if (tenantId === undefined) {
        throw new SessionError('validation_failed', 'The request body is invalid.', [
          { path: 'body.user_id', message: 'required: the tenant the session acts for' },
        ]);
      }
      // A tenant key naming another tenant, an unknown, disabled or malformed id: the same 404.
      if (!TENANT_ID.test(tenantId) || !mayActAsTenant(p, tenantId)) throw new SessionError('tenant_not_found', 'No such tenant.');
      const tenant = await deps.tenants.get(tenantId);
      if (!tenant || tenant.disabled) throw new SessionError('tenant_not_found', 'No such tenant.');

      const scope = environmentScope(p);
      if (scope && body.environment && body.environment !== scope) {
        throw new SessionError('validation_failed', 'The request body is invalid.', [
          { path: 'body.environment', message: `a ${scope} key can only open ${scope} sessions` },
        ]);
      }
      const environment: Environment = scope ?? body.environment ?? 'live';
      const servers = [...new Set(body.servers)];
      const outside = servers.filter((s) => !tenant.servers.includes(s));
      if (outside.length) {
        throw new SessionError(
          'server_not_allowed',
          `Not available to this tenant: ${outside.join(', ')}.`,
          outside.map((s) => ({ path: 'body.servers', message: `server "${s}" is not allowed` })),
        );
      }
      await admit?.(tenant);
      const now = Date.now();
      const row = await insertSession(db, {
        id: newId('ses', now),
        tenant_id: tenant.id,
        environment,
        user_id: tenantId,
        servers,
        // tenant_id is always the system's, whatever the body says (as for jobs).
        metadata: { ...(body.metadata ?? {}), tenant_id: tenant.id },
        created_at: new Date(now),
        expires_at: new Date(now + Math.min(deps.idleMs, SESSION_MAX_LIFETIME_MS)),
        hard_expires_at: new Date(now + SESSION_MAX_LIFETIME_MS),
      });
      return presentSession(row);
    },
    find,
    async use(session) {
      const row = await touchSession(db, session.id, deps.idleMs);
      if (!row) throw closed();
      return row;
    },
    async close(session) {
      await closeSession(db, session.id);
    },
  };
}
