import { Router } from 'express';
import type { Response } from 'express';
import { countSessionToolCalls } from '@agents/db';
import type { CredentialStore, Db, Tenant } from '@agents/db';
import { presentSession, sessionConnections } from '@agents/sessions';
import type { SessionAccess, SessionCalls } from '@agents/sessions';
import type { Catalog } from '@agents/runtime';
import { principalOf } from '../middleware/auth';

export interface SessionRoutesDeps {
  db: Db;
  access: SessionAccess;
  calls: SessionCalls;
  catalog: Pick<Catalog, 'get'>;
  credentials: Pick<CredentialStore, 'list'>;
  /** The tenant's request rate limit (the session's tenant, in the caller's environment budget). */
  spend(res: Response, tenant: Tenant): Promise<void>;
}

/** /v1/sessions (API.md "Sessions (CodeSpar-compatible)"): HTTP in and out; @agents/sessions decides. */
export function sessionRoutes(deps: SessionRoutesDeps): Router {
  const r = Router();
  const { access } = deps;

  r.post('/', async (req, res) => {
    const view = await access.open(principalOf(res), req.body, (tenant) => deps.spend(res, tenant));
    res.status(201).json(view);
  });

  r.get('/:id', async (req, res) => {
    const { session, tenant } = await access.find(principalOf(res), req.params.id);
    await deps.spend(res, tenant);
    res.json({ ...presentSession(session), tool_calls_count: await countSessionToolCalls(deps.db, session.id) });
  });

  r.get('/:id/connections', async (req, res) => {
    const { session, tenant } = await access.find(principalOf(res), req.params.id);
    await deps.spend(res, tenant);
    res.json(await sessionConnections(deps, session));
  });

  r.post('/:id/execute', async (req, res) => {
    const { session, tenant } = await access.find(principalOf(res), req.params.id);
    await deps.spend(res, tenant);
    res.json(await deps.calls.execute(await access.use(session), req.body));
  });

  r.delete('/:id', async (req, res) => {
    const { session } = await access.find(principalOf(res), req.params.id);
    await access.close(session);
    res.status(204).end();
  });

  return r;
}
