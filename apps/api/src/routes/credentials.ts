import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { environmentScope } from '@agents/db';
import type { CredentialStore, Tenant } from '@agents/db';
import type { Catalog } from '@agents/runtime';
import { ApiError } from '../errors';
import { principalOf } from '../middleware/auth';
import { environment, serverId } from '../schemas';
import { parseOrThrow } from '../validation';

const putBody = z.strictObject({
  values: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.string().min(1).max(4096)),
});
/** Exported for the OpenAPI document. */
export const credentialPutBody = putBody;
const envQuery = z.strictObject({ environment: environment.optional() });

export interface CredentialRoutesDeps {
  credentials: CredentialStore;
  catalog: Catalog;
  tenantOf(req: Request, res: Response): Promise<Tenant>;
}

/**
 * A tenant's own provider secrets. Values go in and never come out: reads list field names only,
 * and no error message repeats a value.
 */
export function credentialRoutes(deps: CredentialRoutesDeps): Router {
  const r = Router({ mergeParams: true });

  function target(req: Request, res: Response, tenant: Tenant) {
    const server = serverId.safeParse(req.params.server);
    if (!server.success || !tenant.servers.includes(server.data)) {
      throw new ApiError('server_not_allowed', 'This tenant does not have that server.');
    }
    const q = parseOrThrow(envQuery, req.query, 'query');
    const scope = environmentScope(principalOf(res));
    // A key manages its own environment's credentials; the operator names one (default live).
    const env = scope ?? q.environment ?? 'live';
    if (scope && q.environment && q.environment !== scope) {
      throw new ApiError('validation_failed', 'The request query is invalid.', [
        { path: 'query.environment', message: `a ${scope} key manages ${scope} credentials only` },
      ]);
    }
    return { server: server.data, environment: env };
  }

  r.put('/:server', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const { server, environment: env } = target(req, res, tenant);
    const body = parseOrThrow(putBody, req.body ?? {}, 'body');
    const entry = deps.catalog.get(server)!;
    const known = new Set(entry.credential_fields.map((f) => f.name));
    const details = [
      ...entry.credential_fields.filter((f) => f.required && !(f.name in body.values)).map((f) => ({ path: `body.values.${f.name}`, message: 'required' })),
      ...Object.keys(body.values)
        .filter((k) => !known.has(k))
        .map((k) => ({ path: `body.values.${k}`, message: 'not a credential field of this server' })),
    ];
    if (details.length) throw new ApiError('validation_failed', 'The request body is invalid.', details);
    await deps.credentials.put(tenant.id, server, env, body.values);
    res.status(204).end();
  });

  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const scope = environmentScope(principalOf(res));
    const all = await deps.credentials.list(tenant.id);
    res.json({ data: scope ? all.filter((c) => c.environment === scope) : all });
  });

  r.delete('/:server', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const { server, environment: env } = target(req, res, tenant);
    if (!(await deps.credentials.remove(tenant.id, server, env))) throw new ApiError('not_found', 'No credentials stored for that server and environment.');
    res.status(204).end();
  });
  return r;
}
