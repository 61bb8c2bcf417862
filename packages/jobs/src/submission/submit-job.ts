import { createHash } from 'node:crypto';
import { environmentScope, loadJobView, mayActAsTenant, newId, presentJob } from '@agents/db';
import type { Db, Environment, Principal, TenantCache } from '@agents/db';
import { createMicroBatcher } from '@agents/queue';
import type { Producer, ToolCallQuota } from '@agents/queue';
import type { Logger, Metrics } from '@agents/observability';
import type { Catalog } from '@agents/runtime';
import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { createJobBody, idempotencyKey } from './job-body';
import { createJobIntake } from './job-intake';
import type { JobIntakeOptions } from './job-intake';
import { errorEnvelope, SubmissionError } from './submission-error';
import type { ErrorDetail } from './submission-error';

export interface SubmitJobDeps {
  db: Db;
  producer: Producer;
  logger: Logger;
  /** Tenant rows (cached per process, invalidated everywhere on change). */
  tenants: TenantCache;
  /** Monthly tool-call quota, read (not reserved) at submission. */
  quota: ToolCallQuota;
  /** Model names a job may name in `model` (config.openai.allowedModels). */
  allowedModels: readonly string[];
  /** The server catalog: a workflow step must name a tool one of its entries lists. */
  catalog: Pick<Catalog, 'get'>;
  /** Why a callback URL is refused (the deployment's SSRF policy), or undefined when it is acceptable. */
  callbackUrlProblem(url: string): Promise<string | undefined>;
  /** The submitted-jobs and refusals counters, if wired. */
  metrics?: Metrics;
  /** Batching of the writes (see createJobIntake); defaults there. */
  intake?: Pick<JobIntakeOptions, 'maxBatch' | 'maxInFlight' | 'windowMs'>;
}

export interface SubmitJobRequest {
  principal: Principal;
  /** The `{tid}` the request addresses. */
  tenantId: string;
  /** The parsed JSON body (undefined when there was none). */
  body: unknown;
  /** The Idempotency-Key header as received, if any. */
  idempotencyKey: string | undefined;
  /**
   * The request that asks, for the job's logs: its request id and, from a valid W3C `traceparent`,
   * the trace id and the caller's span id (the adapter validates them). Stored on the row; a
   * replay keeps the first request's.
   */
  origin?: JobOrigin;
  /**
   * The session whose message this job answers (POST /v1/sessions/{id}/send): the job runs with
   * exactly its servers (possibly none; a body's `servers` is not used) and carries its id, as do
   * its usage rows.
   */
  session?: { id: string; servers: readonly string[] };
}

export interface JobOrigin {
  requestId?: string;
  traceId?: string;
  parentSpanId?: string;
}

/** What to answer, in HTTP terms, whatever framework writes it. */
export interface SubmitJobResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface SubmitJob {
  (req: SubmitJobRequest): Promise<SubmitJobResponse>;
  /**
   * Resolves once the writes that follow the answers (the jobs' `enqueued_at` marks, see
   * createJobIntake) have settled: a shutdown awaits it after the last response, before closing
   * the database.
   */
  settled(): Promise<void>;
}

/** Built once: a zod object schema compiles its parser on first use. */
const idempotencyHeader = z.object({ 'idempotency-key': idempotencyKey });

/** Zod issues as API.md's `details` (`{ path: "body.steps.0.tool", message }`), at most 50. */
export function validationDetails(where: string, error: z.ZodError): ErrorDetail[] {
  return error.issues.slice(0, 50).map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'headers'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new SubmissionError('validation_failed', `The request ${where} is invalid.`, validationDetails(where, r.error));
}

/**
 * 400 unknown_tool for workflow step `index`. The name is echoed as given: the body schema has
 * already bounded it to `<server>/<tool>` in [a-z0-9_-] (no control characters, at most 127 chars).
 */
function unknownTool(index: number, tool: string, why: string): SubmissionError {
  return new SubmissionError(
    'unknown_tool',
    `Workflow step ${index} names "${tool}", which does not exist: ${why}. GET /v1/servers lists every server's tools.`,
    [{ path: `body.steps.${index}.tool`, message: why }],
  );
}

/** A spent quota, with what the refusal message and metric need. */
class QuotaRefusal {
  constructor(
    readonly tenantId: string,
    readonly environment: Environment,
    readonly limit: number,
  ) {}
}

/**
 * `POST /v1/tenants/{tid}/jobs` without the HTTP framework: the caller (already authenticated,
 * body parsed, request rate counted) gets the status, headers and body to answer with. In order:
 * the tenant (404 for unknown, disabled or another tenant's), the body and Idempotency-Key (400),
 * the environment (the key's; the operator's body `environment`, default live), the model
 * allow-list (400), the servers (422), the callback URL (400), then the tenant's monthly tool-call
 * quota for that environment (429; a bad request is refused as bad whatever the quota), then the
 * row is written and enqueued, batched with concurrent submissions. Same Idempotency-Key and body
 * → the first job again (202); another body → 422. Infrastructure failures are thrown (the caller
 * answers 503): nothing was written, or the row is committed and the reconciler enqueues it.
 */
export function createSubmitJob(deps: SubmitJobDeps): SubmitJob {
  const { db } = deps;
  const intake = createJobIntake({ db, producer: deps.producer, logger: deps.logger, ...deps.intake });

  // Concurrent submissions read their quota counters together: one Redis round trip per batch.
  const quotaCheck = createMicroBatcher<{ tenantId: string; environment: Environment; limit: number }, void>({
    async run(items) {
      const used = await deps.quota.usedMany(items);
      return items.map((it, i) =>
        used[i]! >= it.limit
          ? { status: 'rejected', reason: new QuotaRefusal(it.tenantId, it.environment, it.limit) }
          : { status: 'fulfilled', value: undefined },
      );
    },
    maxBatch: 256,
    maxInFlight: 2,
    windowMs: 2,
  });

  async function submit({ principal, tenantId, body: raw, idempotencyKey: idemHeader, origin, session }: SubmitJobRequest): Promise<SubmitJobResponse> {
    // Another tenant's id answers exactly as an unknown one: a key never learns that it exists.
    if (!mayActAsTenant(principal, tenantId)) throw new SubmissionError('tenant_not_found', 'No such tenant.');
    const tenant = await deps.tenants.get(tenantId);
    if (!tenant || tenant.disabled) throw new SubmissionError('tenant_not_found', 'No such tenant.');

    const body = parse(createJobBody, raw ?? {}, 'body');
    const idem = idemHeader === undefined ? null : parse(idempotencyHeader, { 'idempotency-key': idemHeader }, 'headers')['idempotency-key'];

    const scope = environmentScope(principal);
    const environment: Environment = scope ?? body.environment ?? 'live';
    if (scope && body.environment && body.environment !== scope) {
      throw new SubmissionError('validation_failed', 'The request body is invalid.', [
        { path: 'body.environment', message: `a ${scope} key can only submit ${scope} jobs` },
      ]);
    }
    // The name reaches the model provider verbatim, on the operator's account.
    if (body.model !== undefined && !deps.allowedModels.includes(body.model)) {
      throw new SubmissionError(
        'model_not_allowed',
        `The model "${body.model}" is not allowed on this deployment; allowed: ${deps.allowedModels.join(', ')}.`,
        [{ path: 'body.model', message: 'not in OPENAI_ALLOWED_MODELS' }],
      );
    }
    // A step naming a server no catalog has can never run, whoever the tenant is: a bad request (400).
    const steps = body.steps ?? [];
    const serverOf = (tool: string) => tool.slice(0, tool.indexOf('/'));
    const unknownServer = steps.findIndex((s) => !deps.catalog.get(serverOf(s.tool)));
    if (unknownServer >= 0) throw unknownTool(unknownServer, steps[unknownServer]!.tool, `no server "${serverOf(steps[unknownServer]!.tool)}" in the catalog`);
    const servers = session ? [...new Set(session.servers)] : body.servers ? [...new Set(body.servers)] : tenant.servers;
    const outside = servers.filter((s) => !tenant.servers.includes(s));
    for (const step of steps) {
      const server = step.tool.split('/')[0]!;
      if (!servers.includes(server) && !outside.includes(server)) outside.push(server);
    }
    if (outside.length) {
      throw new SubmissionError(
        'server_not_allowed',
        `Not available to this job: ${outside.join(', ')}.`,
        outside.map((s) => ({ path: 'body.servers', message: `server "${s}" is not allowed` })),
      );
    }
    // A tool its (allowed) server does not have would fail the job at that step, after the steps
    // before it ran: refused now. An entry listing no tools (a real server discovered at connect
    // time) cannot be checked here.
    const missing = steps.findIndex((s) => {
      const tools = deps.catalog.get(serverOf(s.tool))!.tools;
      return tools.length > 0 && !tools.some((t) => t.name === s.tool.slice(s.tool.indexOf('/') + 1));
    });
    if (missing >= 0) {
      const tool = steps[missing]!.tool;
      throw unknownTool(missing, tool, `server "${serverOf(tool)}" has no tool "${tool.slice(tool.indexOf('/') + 1)}"`);
    }
    const callbackUrl = body.callback_url ?? null;
    if (callbackUrl) {
      const problem = await deps.callbackUrlProblem(callbackUrl);
      if (problem) throw new SubmissionError('validation_failed', 'The request body is invalid.', [{ path: 'body.callback_url', message: problem }]);
    }

    await quotaCheck({ tenantId: tenant.id, environment, limit: tenant.limits.monthly_tool_calls }).catch((err: unknown) => {
      if (!(err instanceof QuotaRefusal)) throw err;
      deps.metrics?.refusals.inc({ tenant: deps.metrics.tenant(err.tenantId), reason: 'quota_exceeded' });
      throw new SubmissionError('quota_exceeded', `The monthly tool-call quota (${err.limit}) of this tenant's ${err.environment} environment is spent.`);
    });

    const result = await intake.submit({
      id: newId('job'),
      tenant_id: tenant.id,
      environment,
      type: body.type,
      status: 'queued',
      input: body.input ?? null,
      steps: body.steps ? JSON.stringify(body.steps) : null,
      servers,
      // tenant_id is always the system's, whatever the body says.
      metadata: JSON.stringify({ ...(body.metadata ?? {}), tenant_id: tenant.id }),
      callback_url: callbackUrl,
      max_iterations: body.max_iterations ?? null,
      model: body.model ?? null,
      idempotency_key: idem,
      // The environment is part of the request: the operator's same body for test and live is two jobs.
      request_hash: idem
        ? createHash('sha256')
            .update(canonicalJson({ ...body, environment }))
            .digest('hex')
        : null,
      // Always set (null when unknown): the intake's one-statement INSERT needs every row to set the same columns.
      request_id: origin?.requestId ?? null,
      trace_id: origin?.traceId ?? null,
      parent_span_id: origin?.parentSpanId ?? null,
      session_id: session?.id ?? null,
    });
    if (result.kind === 'key_reused') throw new SubmissionError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
    const row = result.job;
    if (result.kind === 'created')
      deps.metrics?.jobsSubmitted.inc({ tenant: deps.metrics.tenant(row.tenant_id), type: row.type, environment: row.environment });
    // A job created just now has no tool calls or usage yet: answer from the committed row alone,
    // so a database lost after the commit cannot turn a durable job into a 503 (API.md: a 503
    // means nothing was written).
    const view = result.kind === 'created' ? presentJob(row, [], { tool_calls: 0, input_tokens: 0, output_tokens: 0 }) : await loadJobView(db, row);
    const headers: Record<string, string> = { Location: `/v1/tenants/${tenant.id}/jobs/${row.id}` };
    // Stripe's convention: a client (or its retrying HTTP library) can tell a replay from a new job.
    if (result.kind === 'replayed') headers['Idempotent-Replayed'] = 'true';
    return { status: 202, headers, body: view };
  }

  async function answer(req: SubmitJobRequest): Promise<SubmitJobResponse> {
    try {
      return await submit(req);
    } catch (err) {
      if (err instanceof SubmissionError) return { status: err.status, headers: {}, body: errorEnvelope(err) };
      throw err;
    }
  }
  return Object.assign(answer, { settled: intake.settled });
}
