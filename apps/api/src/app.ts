import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { RedisConnection, Producer } from '@agents/queue';
import type { CredentialStore, Db, Tenant, TenantCache, WebhookSecretStore } from '@agents/db';
import type { Catalog } from '@agents/runtime';
import type { Logger } from '@agents/observability';
import { ApiError } from './errors';
import { authenticate, principalOf, requireOperator } from './middleware/auth';
import { mayActAsTenant } from '@agents/db';
import { jsonBody } from './middleware/json-body';
import { rateLimit } from './middleware/rate-limit';
import { errorHandler, notFound } from './middleware/errors';
import { healthRoutes } from './routes/health';
import { jobRoutes } from './routes/jobs';
import { createJobEventNotifier } from '@agents/jobs';
import type { JobEventHub, SubmitJob } from '@agents/jobs';
import { adminTenantRoutes } from './routes/admin-tenants';
import { credentialRoutes } from './routes/credentials';
import { serverRoutes } from './routes/servers';
import { webhookDeliveryRoutes } from './routes/webhook-deliveries';
import { adminToolCallRoutes, adminUsageRoutes, platformUsageRoutes, tenantUsageRoutes } from './routes/usage';
import { adminPlatformKeyRoutes } from './routes/admin-platform-keys';
import { adminInvoiceRoutes, tenantInvoiceRoutes } from './routes/invoices';
import { docsRoutes } from './routes/docs';
import type { TenantKeys } from './tenant-keys';
import type { PlatformKeys } from './platform-keys';
import { requestContext } from './middleware/request-context';
import { securityHeaders } from './middleware/security-headers';
import { mountOpsRoutes } from './admin/ops-routes';
import type { OpsDeps } from './admin/ops-routes';
import { TENANT_ID } from './schemas';
import { hookRoutes } from './routes/hooks';
import { createHookVerificationThrottle } from './hook-verification-throttle';
import { automationRoutes } from './routes/automations';
import { validateAutomations } from './automation-validation';
import { sessionRoutes } from './routes/sessions';
import { createSessionAccess, createSessionCalls, createSessionMessages } from '@agents/sessions';

export interface ApiDeps {
  db: Db;
  redis: RedisConnection;
  producer: Producer;
  logger: Logger;
  operatorApiKey: string;
  tenantKeys: TenantKeys;
  /** Platform keys (csk_): every tenant's routes in the key's environment, and GET /v1/usage. */
  platformKeys: PlatformKeys;
  /** Tenant config cache, invalidated across processes on update. */
  tenants: TenantCache;
  webhookSecrets: WebhookSecretStore;
  catalog: Catalog;
  credentials: CredentialStore;
  checkCallbackUrl(url: string): Promise<void>;
  /**
   * Connection of the per-request admission checks (rate limit; the quota is built on it too).
   * Defaults to `redis`. Its own connection because BullMQ defines its ~45 scripts on `redis`, and
   * an ioredis pipeline copies every script command of its connection when it is made: on the
   * shared connection each admission batch's pipeline cost more than its commands.
   */
  admissionRedis?: RedisConnection;
  /** Namespace of our Redis keys (the per-tenant rate-limit counters live under it). */
  redisPrefix: string;
  /** Job submission (@agents/jobs createSubmitJob): the jobs route adapts HTTP to it. */
  submitJob: SubmitJob;
  /** This process's job-event fan-out (one shared subscriber connection). */
  jobEvents: JobEventHub;
  /** Keep-alive interval of event streams, ms; default JOB_EVENTS_KEEP_ALIVE_MS (15 s). */
  eventsKeepAliveMs?: number;
  /** Idle time after which a session expires (SESSION_IDLE_MS). */
  sessionIdleMs: number;
  /** How long an execute waits for its worker, ms; default SESSION_CALL_WAIT_MS (55 s). */
  sessionCallWaitMs?: number;
  /** Bull Board, /metrics and the counters routes increment; absent in tests that need none. */
  ops?: OpsDeps;
}

/**
 * The `{tid}` of a tenant route if this caller may address it (well formed, and the caller's own
 * tenant for a tenant key; any for the operator and a platform key). Unknown, disabled and other tenants' ids all answer the same 404 so a
 * key can never learn that another tenant exists. No I/O.
 */
function pathTenantId(req: Request, res: Response): string {
  const tid = req.params.tid;
  const p = principalOf(res);
  if (typeof tid !== 'string' || !TENANT_ID.test(tid) || !mayActAsTenant(p, tid)) throw new ApiError('tenant_not_found', 'No such tenant.');
  return tid;
}

/** The HTTP request listener of the API. */
export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  /**
   * Resolves the `{tid}` of a tenant route for this caller. Unknown, disabled and other tenants'
   * ids all answer the same 404 so a key can never learn that another tenant exists.
   */
  async function tenantOf(req: Request, res: Response): Promise<Tenant> {
    // The rate limit and the routes both ask: one lookup per request.
    const memo = res.locals.tenantOf as { tid: unknown; tenant: Promise<Tenant> } | undefined;
    if (memo && memo.tid === req.params.tid) return memo.tenant;
    const tenant = resolveTenant(req, res);
    res.locals.tenantOf = { tid: req.params.tid, tenant };
    return tenant;
  }
  async function resolveTenant(req: Request, res: Response): Promise<Tenant> {
    const tenant = await deps.tenants.get(pathTenantId(req, res));
    if (!tenant || tenant.disabled) throw new ApiError('tenant_not_found', 'No such tenant.');
    return tenant;
  }

  const authenticated = authenticate(deps.operatorApiKey, { tenantKeys: deps.tenantKeys, platformKeys: deps.platformKeys });
  // A tenant path this caller can never use (malformed id, another tenant's) is refused before its body is read.
  const tenantPathAllowed = (req: Request, res: Response, next: NextFunction) => (pathTenantId(req, res), next());
  const body = jsonBody();
  const onRefusal = (tid: string, reason: 'rate_limited') => {
    const m = deps.ops?.metrics;
    m?.refusals.inc({ tenant: m.tenant(tid), reason });
  };
  const rateLimited = rateLimit({ redis: deps.admissionRedis ?? deps.redis, redisPrefix: deps.redisPrefix, tenantOf, onRefusal });
  const security = securityHeaders();
  app.use(requestContext(deps.logger));
  if (deps.ops) mountOpsRoutes(app, { ...deps.ops, operatorApiKey: deps.operatorApiKey });
  app.use(security);

  app.use(healthRoutes({ db: deps.db, redis: deps.redis }));
  app.use(docsRoutes());
  // Provider webhooks: outside /v1 (no bearer key) and before any JSON parser — the route reads the
  // raw bytes its signature covers.
  app.use(
    '/hooks',
    hookRoutes({
      db: deps.db,
      producer: deps.producer,
      tenants: deps.tenants,
      credentials: deps.credentials,
      throttle: createHookVerificationThrottle({ redis: deps.redis, redisPrefix: deps.redisPrefix }),
      logger: deps.logger,
    }),
  );

  const v1 = express.Router();
  v1.use(authenticated);
  v1.use('/tenants/:tid', tenantPathAllowed);
  // Every /v1/admin route is the operator's (each mount says so too), refused before its body is
  // read; a route added later cannot forget it.
  v1.use('/admin', requireOperator);
  v1.use(body);
  v1.use(
    '/admin/tenants',
    requireOperator,
    adminTenantRoutes({
      db: deps.db,
      knownServer: (id) => deps.catalog.get(id) !== undefined,
      applyConcurrency: async (tid, n) => {
        await deps.producer.tenantQueue(tid).setGlobalConcurrency(n);
      },
      checkCallbackUrl: deps.checkCallbackUrl,
      tenants: deps.tenants,
      webhookSecrets: deps.webhookSecrets,
      tenantKeys: deps.tenantKeys,
      validateAutomations: (list, servers) => validateAutomations({ catalog: deps.catalog }, list, servers),
    }),
  );
  v1.use('/admin/api-keys', requireOperator, adminPlatformKeyRoutes({ db: deps.db, platformKeys: deps.platformKeys }));
  v1.use('/tenants/:tid', rateLimited);
  v1.use(
    '/tenants/:tid/jobs',
    jobRoutes({
      db: deps.db,
      producer: deps.producer,
      tenantOf,
      submitJob: deps.submitJob,
      logger: deps.logger,
      events: deps.jobEvents,
      notifier: createJobEventNotifier({ publisher: deps.redis, redisPrefix: deps.redisPrefix }),
      eventsKeepAliveMs: deps.eventsKeepAliveMs,
    }),
  );
  v1.use('/tenants/:tid/credentials', credentialRoutes({ credentials: deps.credentials, catalog: deps.catalog, tenantOf }));
  v1.use('/tenants/:tid/automations', automationRoutes({ db: deps.db, catalog: deps.catalog, tenantOf }));
  v1.use('/tenants/:tid/webhook-deliveries', webhookDeliveryRoutes({ db: deps.db, tenantOf }));
  v1.use('/admin/usage', requireOperator, adminUsageRoutes({ db: deps.db }));
  v1.use('/admin/tool-calls', requireOperator, adminToolCallRoutes({ db: deps.db }));
  v1.use('/admin/invoices', requireOperator, adminInvoiceRoutes({ db: deps.db }));
  v1.use('/usage', platformUsageRoutes({ db: deps.db }));
  v1.use('/tenants/:tid/usage', tenantUsageRoutes({ db: deps.db, tenantOf }));
  v1.use('/tenants/:tid/invoices', tenantInvoiceRoutes({ db: deps.db, tenantOf }));
  v1.use('/servers', serverRoutes(deps.catalog));
  v1.use(
    '/sessions',
    sessionRoutes({
      db: deps.db,
      access: createSessionAccess({ db: deps.db, tenants: deps.tenants, idleMs: deps.sessionIdleMs }),
      calls: createSessionCalls({
        db: deps.db,
        producer: deps.producer,
        events: deps.jobEvents,
        catalog: deps.catalog,
        logger: deps.logger,
        waitMs: deps.sessionCallWaitMs,
      }),
      messages: createSessionMessages({ db: deps.db, submitJob: deps.submitJob, hub: deps.jobEvents, keepAliveMs: deps.eventsKeepAliveMs }),
      logger: deps.logger,
      catalog: deps.catalog,
      credentials: deps.credentials,
      spend: rateLimited.spend,
    }),
  );
  app.use('/v1', v1);

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
