import { Router } from 'express';
import type { Request, Response } from 'express';
import { environmentScope, finishJob, getJob, listJobs, loadJobView, requestCancel } from '@agents/db';
import type { Db, Environment, Job, Tenant } from '@agents/db';
import { jobEvents, retryJob, sseFrame } from '@agents/jobs';
import type { JobEventHub, JobEventNotifier, SubmitJob } from '@agents/jobs';
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
  /** This process's fan-out of job-event notifications (GET /jobs/{id}/events). */
  events: JobEventHub;
  /** Told when a route adds to a job's log (a queued job cancelled here). */
  notifier: JobEventNotifier;
  /** Keep-alive interval of event streams, ms (JOB_EVENTS_KEEP_ALIVE_MS unless a test sets it). */
  eventsKeepAliveMs?: number;
}

/**
 * Where a reconnecting client resumes: `Last-Event-ID` (what an EventSource sends) wins over
 * `?after=` (what a first connection may name); absent, the whole log. Anything but a
 * non-negative integer is 400 validation_failed.
 */
function resumeAfter(req: Request): number {
  const header = req.get('last-event-id');
  const query = typeof req.query.after === 'string' ? req.query.after : undefined;
  const [raw, path] = header !== undefined ? [header.trim(), 'headers.last-event-id'] : [query, 'query.after'];
  if (raw === undefined || (raw === '' && path === 'headers.last-event-id')) return 0;
  if (!/^\d{1,9}$/.test(raw))
    throw new ApiError('validation_failed', 'The request is invalid.', [{ path, message: 'must be a non-negative integer (an event id)' }]);
  return Number(raw);
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

  // API.md "Live progress of a job": the log from the resume point, then live until the terminal event.
  r.get('/:job_id/events', async (req, res) => {
    const tenant = await deps.tenantOf(req, res);
    const job = await findVisibleJob(req, res, tenant);
    // No Accept means anything (RFC 9110 12.5.1); one that excludes the stream's type is refused.
    if (req.get('accept') !== undefined && !req.accepts('text/event-stream'))
      throw new ApiError('not_acceptable', 'This route serves only text/event-stream; send Accept: text/event-stream.');
    const after = resumeAfter(req);
    const stop = new AbortController();
    res.on('close', () => stop.abort());
    // The connection closes with the stream: a finished stream leaves no idle socket behind.
    res.shouldKeepAlive = false;
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    try {
      for await (const item of jobEvents({ db, hub: deps.events }, { jobId: job.id, after, keepAliveMs: deps.eventsKeepAliveMs, signal: stop.signal })) {
        res.write(sseFrame(item));
      }
    } catch (err) {
      // The status line is sent: the client sees the stream end and reconnects with Last-Event-ID.
      deps.logger.warn({ err: { message: (err as Error).message }, job_id: job.id }, 'job event stream ended by an error');
    }
    res.end();
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
      deps.notifier.changed(job.id);
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
