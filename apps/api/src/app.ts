import express from 'express';
import type { Request, Response } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import { getTenant } from '@agents/db';
import type { CredentialStore, Db, Tenant } from '@agents/db';
import type { Catalog } from '@agents/runtime';
import type { Producer } from '@agents/queue';
import type { Logger } from '@agents/observability';
import { ApiError } from './errors';
import { authenticate, principalOf, requireOperator } from './middleware/auth';
import type { TenantKeyResolver } from './middleware/auth';
import { jsonBody } from './middleware/json-body';
import { errorHandler, notFound } from './middleware/errors';
import { healthRoutes } from './routes/health';
import { jobRoutes } from './routes/jobs';
import { adminTenantRoutes } from './routes/admin-tenants';
import { credentialRoutes } from './routes/credentials';
import { serverRoutes } from './routes/servers';
import { tenantId as tenantIdSchema } from './schemas';

export interface ApiDeps {
  db: Db;
  redis: Redis;
  producer: Producer;
  logger: Logger;
  operatorApiKey: string;
  tenantKeys?: TenantKeyResolver;
  catalog: Catalog;
  credentials: CredentialStore;
  checkCallbackUrl(url: string): Promise<void>;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(helmet());

  app.use(healthRoutes({ db: deps.db, redis: deps.redis }));

  /**
   * Resolves the `{tid}` of a tenant route for this caller. Unknown, disabled and other tenants'
   * ids all answer the same 404 so a key can never learn that another tenant exists.
   */
  async function tenantOf(req: Request, res: Response): Promise<Tenant> {
    const raw = req.params.tid;
    const parsed = tenantIdSchema.safeParse(raw);
    const p = principalOf(res);
    if (!parsed.success || (p.kind === 'tenant' && p.tenantId !== parsed.data)) {
      throw new ApiError('tenant_not_found', 'No such tenant.');
    }
    const tenant = await getTenant(deps.db, parsed.data);
    if (!tenant || tenant.disabled) throw new ApiError('tenant_not_found', 'No such tenant.');
    return tenant;
  }

  const v1 = express.Router();
  v1.use(authenticate(deps.operatorApiKey, deps.tenantKeys));
  v1.use(jsonBody());
  v1.use(
    '/admin/tenants',
    requireOperator,
    adminTenantRoutes({
      db: deps.db,
      knownServer: (id) => deps.catalog.get(id) !== undefined,
      applyConcurrency: async (tid, n) => {
        await deps.producer.tenantQueue(tid).setGlobalConcurrency(n);
      },
    }),
  );
  v1.use(
    '/tenants/:tid/jobs',
    jobRoutes({ db: deps.db, producer: deps.producer, logger: deps.logger, tenantOf, checkCallbackUrl: deps.checkCallbackUrl }),
  );
  v1.use('/tenants/:tid/credentials', credentialRoutes({ credentials: deps.credentials, catalog: deps.catalog, tenantOf }));
  v1.use('/servers', serverRoutes(deps.catalog));
  app.use('/v1', v1);

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
