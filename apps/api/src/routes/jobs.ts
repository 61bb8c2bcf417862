import { Router } from 'express';
import type { Request, Response } from 'express';
import { environmentScope, finishJob, getJob, listJobs, loadJobView, requestCancel } from '@agents/db';
import type { Db, Environment, Job, Tenant } from '@agents/db';
import { retryJob } from '@agents/jobs';
import type { SubmitJob } from '@agents/jobs';
import type { Logger, TraceParent } from '@agents/observability';
import type { Producer } from '@agents/queue';
import { jobEventTarget } from '@agents/webhooks';
import { ApiError } from '../errors';
import { principalOf, requireOperator } from '../middleware/auth';
import { jobId, listQuery } from '../schemas';
import { parseOrThrow } from '../validation';

export interface JobRoutesDeps {
  db: Db;
  producer: Producer;
  /** Loads the tenant named in the path, already checked against the caller (404 tenant_not_found otherwise). */
  tenantOf(req: Request, res: Response): Promise<Tenant>;
  /** Job submission (@agents/jobs createSubmitJob); this router only adapts HTTP to it. */
  submitJob: SubmitJob;
  logger: Logger;
}

/** The environment a caller sees: a key only its own; the operator both (undefined). */
function visibleEnvironment(res: Response): Environment | undefined {
  return environmentScope(principalOf(res));
}

/** /v1/tenants/{tid}/jobs: submit, list, get, cancel, retry (operator). */
export function jobRoutes(deps: JobRoutesDeps): Router {
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

  // Everything a submission decides is @agents/jobs'; rate limit and body parsing ran before.
  r.post('/', async (req, res) => {
    const principal = principalOf(res);
    const tenantId = (req.params as { tid: string }).tid;
    // Set by requestContext; the job's worker logs carry them.
    const trace = res.locals.trace as TraceParent | undefined;
    const origin = { requestId: res.locals.requestId as string, traceId: trace?.traceId, parentSpanId: trace?.parentSpanId };
    const answer = await deps.submitJob({ principal, tenantId, body: req.body, idempotencyKey: req.get('idempotency-key'), origin });
    res.status(answer.status).set(answer.headers).json(answer.body);
  });

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
      current =
        (await finishJob(db, job.id, {
          status: 'cancelled',
          error: { code: 'cancelled', message: 'Cancelled before it started.' },
          deliverTo: jobEventTarget(job, tenant),
        })) ?? (await getJob(db, tenant.id, job.id))!;
    }
    // A running job stops before its next model or tool call, on whichever worker runs it.
    await deps.producer.publishCancel(job.id).catch(() => undefined);
    res.json(await loadJobView(db, current));
  });

  // Operator only: a failed job runs again from its checkpoints (@agents/jobs retryJob decides).
  r.post('/:job_id/retry', requireOperator, async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const job = await findVisibleJob(req, res, tenant);
    const out = await retryJob({ db, producer: deps.producer, logger: deps.logger }, { tenantId: tenant.id, jobId: job.id });
    if (out.kind === 'not_found') throw new ApiError('not_found', 'No such job.');
    if (out.kind === 'not_retryable') throw new ApiError('job_not_retryable', `Only a failed job can be retried; this one is ${out.job.status}.`);
    res.status(202).json(await loadJobView(db, out.job));
  });

  return r;
}
