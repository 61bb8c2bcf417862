import { z } from 'zod';

/**
 * The body of `POST /v1/tenants/{tid}/jobs` (API.md "Jobs") and the schemas it is made of. The API
 * re-exports these for its other routes and its OpenAPI document, so the served document describes
 * exactly what submission accepts.
 */

export const SERVER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const serverId = z.string().regex(SERVER_ID, 'must be a catalog server id');
export const environment = z.enum(['test', 'live']);

/** `<server>/<tool>` as in API.md workflow steps. */
export const TOOL_NAME = /^[a-z0-9][a-z0-9-]{0,62}\/[A-Za-z0-9_]{1,64}$/;
export const toolName = z.string().regex(TOOL_NAME, 'must be "<server>/<tool>"');

/** The job body's bounds (characters or items). */
export const LIMITS = {
  input: 32_000,
  steps: 50,
  servers: 32,
  metadataKey: 40,
  metadataValue: 500,
  metadataPairs: 20,
  maxIterations: 100,
  model: 100,
  idempotencyKey: 255,
} as const;

export const METADATA_KEY = /^[A-Za-z0-9_.:-]+$/;
export const metadata = z
  .record(z.string().min(1).max(LIMITS.metadataKey).regex(METADATA_KEY, 'keys use letters, digits, _ . : -'), z.string().max(LIMITS.metadataValue))
  .refine((m) => Object.keys(m).length <= LIMITS.metadataPairs, `at most ${LIMITS.metadataPairs} pairs`);

export const workflowStep = z.strictObject({
  tool: toolName,
  args: z.record(z.string(), z.unknown()).default({}),
});

export const createJobBody = z
  .strictObject({
    type: z.enum(['agent', 'workflow']).default('agent'),
    input: z.string().min(1).max(LIMITS.input).optional(),
    steps: z.array(workflowStep).min(1).max(LIMITS.steps).optional(),
    servers: z.array(serverId).min(1).max(LIMITS.servers).optional(),
    metadata: metadata.optional(),
    callback_url: z.string().url().max(2048).optional(),
    max_iterations: z.number().int().min(1).max(LIMITS.maxIterations).optional(),
    /** Only a model of the operator's allow-list (OPENAI_ALLOWED_MODELS); checked by submitJob. */
    model: z.string().min(1).max(LIMITS.model).optional(),
    /** Operator key only: which environment the job runs in (tenant keys use their own). */
    environment: environment.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.type === 'agent' && !b.input) ctx.addIssue({ code: 'custom', path: ['input'], message: 'required for agent jobs' });
    if (b.type === 'agent' && b.steps) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'only for workflow jobs' });
    if (b.type === 'workflow' && !b.steps) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'required for workflow jobs' });
  });

export type CreateJobBody = z.infer<typeof createJobBody>;

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]+$/;
export const idempotencyKey = z.string().min(1).max(LIMITS.idempotencyKey).regex(IDEMPOTENCY_KEY, 'printable ASCII without spaces');
