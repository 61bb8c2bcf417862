import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import { getAutomations, markEnqueued, newId, recordProviderEvent, storableJson } from '@agents/db';
import type { Automation, CredentialStore, Environment, NewJob, Tenant, TenantCache, Db } from '@agents/db';
import type { Producer } from '@agents/queue';
import type { Logger, TraceParent } from '@agents/observability';
import { isInboundWebhookServer, normaliseProviderEvent, verifyProviderWebhook } from '@agents/webhooks';
import type { NormalisedEvent } from '@agents/webhooks';
import { ApiError } from '../errors';
import { bearerChallenge } from '../middleware/auth';
import type { HookVerificationThrottle } from '../hook-verification-throttle';
import { BODY_LIMIT_BYTES } from '../middleware/json-body';
import { environment as environmentSchema, tenantId as tenantIdSchema } from '../schemas';
import { parseOrThrow } from '../validation';

const hookQuery = z.strictObject({ environment: environmentSchema.optional() });

/** Longest provider event id we store (real ones are ~30 chars); longer is not a real provider. */
const MAX_EVENT_ID_CHARS = 255;

export interface HookRoutesDeps {
  db: Db;
  producer: Pick<Producer, 'enqueueRun'>;
  tenants: Pick<TenantCache, 'get'>;
  credentials: Pick<CredentialStore, 'get'>;
  /** Failed verifications per tenant path and source address; past its limit, 429 before any other work. */
  throttle: HookVerificationThrottle;
  logger: Logger;
  /** Clock in ms (Stripe's timestamp tolerance); Date.now by default. */
  now?: () => number;
}

/**
 * Verifies against when there is no secret to verify against (unknown tenant, no such server, no
 * webhook_secret), so a refusal costs the same HMAC either way; the result is discarded. Random per
 * process: nobody can send a token equal to it.
 */
const NO_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/**
 * The jobs a normalised event triggers: one workflow job per matching automation of `automations`,
 * the list of the hook's environment (a hook for E runs only E's automations).
 */
export function automationJobs(
  tenant: Tenant,
  environment: Environment,
  event: NormalisedEvent,
  automations: readonly Automation[],
  /** The hook request, for the jobs' logs (as submitJob's origin): its request id and W3C trace. */
  origin: Pick<NewJob, 'request_id' | 'trace_id' | 'parent_span_id'> = {},
): NewJob[] {
  return automations.flatMap((a, index) => {
    if (a.on !== event.type) return [];
    const servers = [...new Set(a.steps.map((s) => s.tool.split('/')[0]!))].filter((s) => tenant.servers.includes(s));
    return [
      {
        id: newId('job'),
        tenant_id: tenant.id,
        environment,
        type: 'workflow' as const,
        status: 'queued' as const,
        input: null,
        steps: JSON.stringify(a.steps),
        servers,
        // API.md: metadata.trigger = the provider event id; tenant_id is always the system's.
        metadata: JSON.stringify({ trigger: event.id.slice(0, 500), automation: String(index), tenant_id: tenant.id }),
        callback_url: null,
        max_iterations: null,
        model: null,
        idempotency_key: null,
        request_hash: null,
        context: JSON.stringify({ event }),
        request_id: origin.request_id ?? null,
        trace_id: origin.trace_id ?? null,
        parent_span_id: origin.parent_span_id ?? null,
      },
    ];
  });
}

/**
 * `POST /hooks/{tid}/{server}?environment=test|live`: inbound provider webhooks (API.md "Inbound
 * provider webhooks and automations"). Public (no bearer key): the provider's own signature over
 * the raw bytes, checked against the tenant's `webhook_secret` credential for that server and
 * environment, is the authentication. Mounted outside /v1, with its own raw-body parser, so no
 * JSON parser touches the bytes before they are verified.
 *
 * Answers fast: verify, dedupe and write the jobs in one transaction, enqueue, 200. A redelivery,
 * or a second event for an already-confirmed payment, is acknowledged (200) and does nothing, so
 * providers stop retrying it.
 *
 * Nothing tells a sender which tenants exist: an unknown or disabled tenant, a tenant without that
 * server or without a webhook_secret, and a bad signature all answer the same 401 body after the
 * same work (the tenant lookup and the credential read run for any well-formed id, and an HMAC is
 * computed against a throwaway secret when there is none). Each refusal counts against the sender's
 * address for that tenant path; past the throttle's limit the answer is 429 rate_limited with
 * Retry-After, before any Postgres read.
 *
 * The payload is made storable (U+0000 and lone surrogates become U+FFFD, keys included) right
 * after it is parsed: everything recorded or queued from it (event ids, the job's event context)
 * derives from that copy. The signature was already checked over the raw bytes.
 */
export function hookRoutes(deps: HookRoutesDeps): Router {
  const r = Router();
  const now = deps.now ?? Date.now;
  const raw = express.raw({ type: () => true, limit: BODY_LIMIT_BYTES });

  function rawBody(req: Request, res: Response, next: NextFunction) {
    raw(req, res, (err?: unknown) => {
      if (!err) return next();
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') return next(new ApiError('payload_too_large', `The body exceeds ${BODY_LIMIT_BYTES} bytes.`));
      next(err);
    });
  }

  r.post('/:tid/:server', rawBody, async (req, res) => {
    // Platform-wide facts first (the same for every tenant id): which servers send webhooks, the query.
    const server = String(req.params.server);
    if (!isInboundWebhookServer(server)) throw new ApiError('not_found', 'No webhook endpoint for that server.');
    const environment: Environment = parseOrThrow(hookQuery, req.query, 'query').environment ?? 'live';
    const tenantPath = String(req.params.tid);
    const address = req.ip ?? req.socket.remoteAddress ?? '';
    const retryAfterS = await deps.throttle.retryAfterS(tenantPath, address);
    if (retryAfterS > 0) {
      throw new ApiError('rate_limited', `Too many failed webhook verifications; retry in ${retryAfterS} s.`, undefined, {
        'Retry-After': String(retryAfterS),
      });
    }
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

    const tid = tenantIdSchema.safeParse(tenantPath);
    const [found, creds] = tid.success
      ? await Promise.all([deps.tenants.get(tid.data), deps.credentials.get(tid.data, server, environment)])
      : [undefined, null];
    const tenant = found && !found.disabled && found.servers.includes(server) ? found : undefined;
    const secret = tenant ? creds?.values.webhook_secret : undefined;
    const verified = verifyProviderWebhook({ server, header: (name) => req.get(name), rawBody: body, secret: secret ?? NO_SECRET, nowMs: now() });
    const refusal = !found
      ? 'unknown_tenant'
      : !tenant
        ? 'tenant_disabled_or_without_server'
        : !secret
          ? 'no_webhook_secret'
          : verified.ok
            ? null
            : verified.reason;
    if (!tenant || refusal !== null) {
      await deps.throttle.recordFailure(tenantPath, address);
      // For the operator only (the sender gets the same 401 whatever the reason).
      deps.logger.warn({ tenant_path: tenantPath.slice(0, 64), server, environment, reason: refusal }, 'provider webhook refused');
      // Its own protection space: the provider's signature is the credential here, not a bearer key.
      throw new ApiError('unauthorized', 'Missing or invalid webhook signature.', undefined, bearerChallenge('invalid_token', 'hooks'));
    }
    const log = deps.logger.child({ tenant_id: tenant.id, server, environment });

    let payload: unknown;
    try {
      payload = storableJson(JSON.parse(body.toString('utf8')) as unknown);
    } catch {
      throw new ApiError('invalid_json', 'The body is not valid JSON.');
    }
    const n = normaliseProviderEvent(server, environment, payload, now());
    if (!n.ok) throw new ApiError('validation_failed', 'The request body is invalid.', [{ path: 'body', message: n.message }]);
    if (n.providerEventId.length > MAX_EVENT_ID_CHARS) {
      throw new ApiError('validation_failed', 'The request body is invalid.', [{ path: 'body.id', message: `longer than ${MAX_EVENT_ID_CHARS} characters` }]);
    }

    const trace = res.locals.trace as TraceParent | undefined;
    const origin = { request_id: res.locals.requestId as string, trace_id: trace?.traceId ?? null, parent_span_id: trace?.parentSpanId ?? null };
    const jobs = n.event ? automationJobs(tenant, environment, n.event, await getAutomations(deps.db, tenant.id, environment), origin) : [];
    const result = await recordProviderEvent(
      deps.db,
      {
        tenantId: tenant.id,
        environment,
        server,
        providerEventId: n.providerEventId,
        providerEventType: n.providerEventType,
        eventType: n.event?.type ?? null,
        paymentKey: n.paymentKey,
      },
      jobs,
    );
    if (result.kind === 'recorded' && result.jobs.length) {
      // Committed: the jobs are durable. An enqueue that fails here is done by the reconciler.
      try {
        for (const job of result.jobs) await deps.producer.enqueueRun({ job_id: job.id, tenant_id: job.tenant_id });
        await markEnqueued(
          deps.db,
          result.jobs.map((j) => j.id),
        );
      } catch (err) {
        log.warn({ err: { message: (err as Error).message } }, 'enqueue failed; the reconciler will enqueue these jobs');
      }
    }
    log.info(
      {
        provider_event_id: n.providerEventId,
        provider_event_type: n.providerEventType,
        result: result.kind === 'recorded' ? result.outcome : result.kind,
        jobs: result.kind === 'recorded' ? result.jobs.map((j) => j.id) : [],
      },
      'provider webhook received',
    );
    res.status(200).json({ received: true });
  });

  return r;
}
