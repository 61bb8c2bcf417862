import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { finishJob, getJob, listJobs, loadJobView, newId, presentJob, requestCancel } from '@agents/db';
import type { Db, Environment, Job, Tenant } from '@agents/db';
import type { Producer } from '@agents/queue';
import type { Logger, Metrics } from '@agents/observability';
import { z } from 'zod';
import { ApiError } from '../errors';
import { principalOf } from '../middleware/auth';
import { createJobBody, IDEMPOTENCY_KEY, idempotencyKey, jobId, LIMITS, listQuery } from '../schemas';
import { fastJobBody } from '../job-body';
import { parseOrThrow } from '../validation';
import { createJobIntake } from './job-intake';
import { canonicalJson } from '../canonical-json';

export interface JobRoutesDeps {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Loads the tenant named in the path, already checked against the caller (404 tenant_not_found otherwise). */
  tenantOf(req: Request, res: Response): Promise<Tenant>;
  /** Refuses callback URLs the deployment does not allow (SSRF); resolves when acceptable. */
  checkCallbackUrl(url: string): Promise<void>;
  /** Model names a job may name in `model` (OPENAI_ALLOWED_MODELS + OPENAI_MODEL). */
  allowedModels: readonly string[];
  metrics?: Metrics;
}

/**
 * Built once: a zod object schema compiles its parser on first use, so one made per request paid
 * that compilation on every submission (≈3 % of the API's CPU under the ingress benchmark).
 */
const idempotencyHeader = z.object({ 'idempotency-key': idempotencyKey });

/** The environment a caller sees: a tenant key only its own; the operator both (undefined). */
function visibleEnvironment(res: Response): Environment | undefined {
  const p = principalOf(res);
  return p.kind === 'tenant' ? p.environment : undefined;
}

/**
 * POST /v1/tenants/{tid}/jobs after the admission checks (key, path tenant, body, rate limit,
 * quota): validates the body, writes the job row and enqueues it, batched with concurrent
 * submissions, and answers 202 with the job. The app mounts it on its own route (the hot path).
 */
export function createJobHandler(deps: JobRoutesDeps) {
  const { db } = deps;
  const intake = createJobIntake({ db, producer: deps.producer, logger: deps.logger });
  return async (req: Request, res: Response) => {
    const tenant = await deps.tenantOf(req, res);
    // zod runs (and words the errors) only for what the plain checks cannot vouch for.
    const body = fastJobBody(req.body) ?? parseOrThrow(createJobBody, req.body ?? {}, 'body');
    const principal = principalOf(res);
    // As Node gives it, repeats joined into one string (req.get's value; the fast submission path has no Express methods).
    const idemHeader = req.headers['idempotency-key'] as string | undefined;
    const idem =
      idemHeader === undefined
        ? null
        : idemHeader.length <= LIMITS.idempotencyKey && IDEMPOTENCY_KEY.test(idemHeader)
          ? idemHeader
          : parseOrThrow(idempotencyHeader, { 'idempotency-key': idemHeader }, 'headers')['idempotency-key'];

    const environment: Environment = principal.kind === 'tenant' ? principal.environment : (body.environment ?? 'live');
    if (principal.kind === 'tenant' && body.environment && body.environment !== principal.environment) {
      throw new ApiError('validation_failed', 'The request body is invalid.', [
        { path: 'body.environment', message: `a ${principal.environment} key can only submit ${principal.environment} jobs` },
      ]);
    }
    if (body.model !== undefined && !deps.allowedModels.includes(body.model)) {
      throw new ApiError('model_not_allowed', `The model "${body.model}" is not allowed on this deployment; allowed: ${deps.allowedModels.join(', ')}.`, [
        { path: 'body.model', message: 'not in OPENAI_ALLOWED_MODELS' },
      ]);
    }
    const servers = body.servers ? [...new Set(body.servers)] : tenant.servers;
    const outside = servers.filter((s) => !tenant.servers.includes(s));
    for (const step of body.steps ?? []) {
      const server = step.tool.split('/')[0]!;
      if (!servers.includes(server) && !outside.includes(server)) outside.push(server);
    }
    if (outside.length) {
      throw new ApiError('server_not_allowed', `Not available to this job: ${outside.join(', ')}.`, outside.map((s) => ({ path: 'body.servers', message: `server "${s}" is not allowed` })));
    }
    const callbackUrl = body.callback_url ?? null;
    if (callbackUrl) await deps.checkCallbackUrl(callbackUrl);

    const job = {
      id: newId('job'),
      tenant_id: tenant.id,
      environment,
      type: body.type,
      status: 'queued' as const,
      input: body.input ?? null,
      steps: body.steps ? JSON.stringify(body.steps) : null,
      servers,
      // tenant_id is always the system's, whatever the body says.
      metadata: JSON.stringify({ ...(body.metadata ?? {}), tenant_id: tenant.id }),
      callback_url: callbackUrl,
      max_iterations: body.max_iterations ?? null,
      model: body.model ?? null,
      idempotency_key: idem,
      request_hash: idem ? createHash('sha256').update(canonicalJson({ ...body, environment })).digest('hex') : null,
    };
    // Batched with concurrent submissions (one INSERT, one enqueue, one markEnqueued per batch).
    const result = await intake.submit(job);
    if (result.kind === 'key_reused') {
      throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
    }
    const row = result.job;
    if (result.kind === 'created') deps.metrics?.jobsSubmitted.inc({ tenant: deps.metrics.tenant(row.tenant_id), type: row.type, environment: row.environment });
    // A job created just now has no tool calls or usage yet: answer from the committed row alone,
    // so a database lost after the commit cannot turn a durable job into a 503 (API.md: a 503
    // means nothing was written).
    const view = result.kind === 'created' ? presentJob(row, [], { tool_calls: 0, input_tokens: 0, output_tokens: 0 }) : await loadJobView(db, row);
    // What `res.status(202).location(url).json(view)` sends (same headers, same order, same bytes;
    // ids are URL-safe so Express's encodeurl leaves the Location as is), without Express's
    // content-type negotiation on the hot path.
    const json = JSON.stringify(view);
    res.statusCode = 202;
    res.setHeader('Location', `/v1/tenants/${tenant.id}/jobs/${row.id}`);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(json));
    res.end(json);
  };
}

/** /v1/tenants/{tid}/jobs: list, get, cancel, and `POST /` answered by `submit` (createJobHandler's). */
export function jobRoutes(deps: JobRoutesDeps, submit: (req: Request, res: Response) => Promise<void>): Router {
  const r = Router({ mergeParams: true });
  const { db } = deps;

  async function findVisibleJob(req: Request, res: Response, tenant: Tenant): Promise<Job> {
    const id = jobId.safeParse(req.params.job_id);
    if (!id.success) throw new ApiError('not_found', 'No such job.');
    const job = await getJob(db, tenant.id, id.data);
    const env = visibleEnvironment(res);
    if (!job || (env && job.environment !== env)) throw new ApiError('not_found', 'No such job.');
    return job;
  }

  r.post('/', submit);

  r.get('/', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const q = parseOrThrow(listQuery, req.query, 'query');
    const { data, hasMore } = await listJobs(db, {
      tenantId: tenant.id,
      environment: visibleEnvironment(res),
      status: q.status,
      limit: q.limit,
      startingAfter: q.starting_after,
    });
    res.json({ data: await Promise.all(data.map((j) => loadJobView(db, j))), has_more: hasMore });
  });

  r.get('/:job_id', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const job = await findVisibleJob(req, res, tenant);
    res.json(await loadJobView(db, job));
  });

  r.post('/:job_id/cancel', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const job = await findVisibleJob(req, res, tenant);
    const flagged = await requestCancel(db, tenant.id, job.id);
    if (!flagged) throw new ApiError('job_not_cancellable', `The job is already ${job.status}.`);
    let current = flagged;
    if (flagged.status === 'queued') {
      // Not started anywhere yet: cancel at once. A worker that fetches it later finds it terminal.
      current = (await finishJob(db, job.id, { status: 'cancelled', error: { code: 'cancelled', message: 'Cancelled before it started.' } })) ?? (await getJob(db, tenant.id, job.id))!;
    }
    // A running job stops before its next model or tool call, on whichever worker runs it.
    await deps.producer.publishCancel(job.id).catch(() => undefined);
    res.json(await loadJobView(db, current));
  });

  return r;
}
