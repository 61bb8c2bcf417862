import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { environmentScope, getAutomations, setAutomations } from '@agents/db';
import type { Automation, Db, Environment, Tenant } from '@agents/db';
import type { Catalog } from '@agents/runtime';
import { validateAutomations } from '../automation-validation';
import { ApiError } from '../errors';
import { principalOf } from '../middleware/auth';
import { environment } from '../schemas';
import { parseOrThrow } from '../validation';
import { automations } from './admin-tenants';

const putBody = z.strictObject({ automations });
const envQuery = z.strictObject({ environment: environment.optional() });

export interface AutomationRoutesDeps {
  db: Db;
  catalog: Pick<Catalog, 'get'>;
  tenantOf(req: Request, res: Response): Promise<Tenant>;
}

/**
 * `GET|PUT /v1/tenants/{tid}/automations`: the tenant's own automations of one environment (API.md
 * "Inbound provider webhooks and automations"). A tenant key reads and writes its own environment's
 * list only, so a test key can never decide what a live webhook runs; the operator names one with
 * `?environment=` (default live, as for credentials). PUT replaces that list, validated against the
 * tenant's servers and the catalog. Hooks read the list from Postgres per delivery, so a change
 * applies to the next delivery on every process.
 */
export function automationRoutes(deps: AutomationRoutesDeps): Router {
  const r = Router({ mergeParams: true });

  function environmentOf(req: Request, res: Response): Environment {
    const q = parseOrThrow(envQuery, req.query, 'query');
    const scope = environmentScope(principalOf(res));
    if (!scope) return q.environment ?? 'live';
    if (q.environment && q.environment !== scope) {
      throw new ApiError('validation_failed', 'The request query is invalid.', [
        { path: 'query.environment', message: `a ${scope} key manages ${scope} automations only` },
      ]);
    }
    return scope;
  }

  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const env = environmentOf(req, res);
    res.json({ environment: env, automations: await getAutomations(deps.db, tenant.id, env) });
  });

  r.put('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const env = environmentOf(req, res);
    const body = parseOrThrow(putBody, req.body ?? {}, 'body');
    const list = body.automations as Automation[];
    const problems = validateAutomations({ catalog: deps.catalog }, list, tenant.servers);
    if (problems.length) throw new ApiError('validation_failed', 'The request body is invalid.', problems);
    res.json({ environment: env, automations: await setAutomations(deps.db, tenant.id, env, list) });
  });

  return r;
}
