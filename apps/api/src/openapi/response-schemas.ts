import { z } from 'zod';

/**
 * Response shapes of API.md, as zod schemas so the OpenAPI document is generated rather than
 * hand-written. Responses are produced by presenters, not parsed; these describe them.
 */
const timestamp = z.string().meta({ format: 'date-time', example: '2026-11-28T07:00:00.000Z' });
const environment = z.enum(['test', 'live']);
const counters = {
  jobs: z.number().int(),
  tool_calls: z.number().int().meta({ description: 'Tool calls that reached a provider (the billable ones; failed included, denied excluded).' }),
  failed_tool_calls: z.number().int().meta({ description: 'Of tool_calls, those that failed.' }),
  denied_tool_calls: z.number().int().meta({ description: 'Calls refused before reaching any provider (outside the session, approval denied); never billed.' }),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
};

export const errorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation_failed' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
    code: z.string().meta({ description: 'The same as error.code.' }),
    message: z.string().meta({ description: 'The same as error.message.' }),
  })
  .meta({ id: 'Error' });

const automationList = z.array(z.object({ on: z.string(), steps: z.array(z.object({ tool: z.string(), args: z.record(z.string(), z.unknown()) })) }));

export const tenantResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    servers: z.array(z.string()),
    limits: z.object({
      concurrency: z.number().int(),
      requests_per_minute: z.number().int(),
      monthly_tool_calls: z.number().int(),
      max_iterations: z.number().int(),
    }),
    plan: z.object({
      currency: z.string(),
      base_fee: z.number(),
      price_per_tool_call: z.number(),
      price_per_1k_tokens: z.number(),
      included_tool_calls: z.number().int(),
    }),
    instructions: z.string().nullable(),
    webhook_url: z.string().nullable(),
    automations: z
      .object({ test: automationList, live: automationList })
      .meta({ description: 'Each environment’s automations; a hook for environment E runs only E’s.' }),
    disabled: z.boolean(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Tenant' });

export const createdTenantResponse = tenantResponse
  .extend({ webhook_secret: z.string().meta({ description: 'Shown only in this response.', example: 'whsec_...' }) })
  .meta({ id: 'CreatedTenant' });

export const webhookSecretResponse = z.object({ webhook_secret: z.string() }).meta({ id: 'WebhookSecret' });

export const apiKeyResponse = z
  .object({
    id: z.string().meta({ example: 'key_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    environment,
    name: z.string().nullable(),
    prefix: z.string().meta({ example: 'ak_test_Ab12' }),
    created_at: timestamp,
    last_used_at: timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const createdApiKeyResponse = apiKeyResponse
  .extend({ key: z.string().meta({ description: 'The full key, shown only in this response.' }) })
  .meta({ id: 'CreatedApiKey' });

export const toolCallSummary = z.object({
  id: z.string().meta({ example: 'tc_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
  server: z.string().nullable(),
  tool: z.string().nullable(),
  success: z.boolean(),
  duration_ms: z.number().int(),
  error: z
    .object({ code: z.string().meta({ example: 'tool_failed' }) })
    .nullable()
    .meta({ description: "The call's error code; the job's `error` carries the message." }),
});

export const jobResponse = z
  .object({
    id: z.string().meta({ example: 'job_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    tenant_id: z.string(),
    environment,
    type: z.enum(['agent', 'workflow']),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    input: z.string().nullable(),
    steps: z
      .array(z.object({ tool: z.string(), args: z.record(z.string(), z.unknown()) }))
      .optional()
      .meta({ description: 'Workflow jobs only: the steps as submitted.' }),
    servers: z.array(z.string()),
    metadata: z.record(z.string(), z.string()),
    callback_url: z.string().nullable().meta({ description: "Where the terminal event is POSTed; null = the tenant's webhook_url." }),
    output: z.unknown().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    tool_calls: z.array(toolCallSummary),
    usage: z.object({ tool_calls: z.number().int(), input_tokens: z.number().int(), output_tokens: z.number().int() }),
    attempts: z.number().int(),
    created_at: timestamp,
    started_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
  })
  .meta({ id: 'Job' });

export const credentialSummaryResponse = z
  .object({ server: z.string(), environment, fields: z.array(z.string()), updated_at: timestamp })
  .meta({ id: 'CredentialSummary' });

export const usageResponse = z
  .object({
    tenant_id: z.string(),
    from: timestamp,
    to: timestamp,
    environment: environment.nullable().meta({ description: "The environment counted; null = both (the operator's default)." }),
    group_by: z.enum(['day', 'server', 'tool']).nullable().meta({ description: 'How buckets are keyed; null = no buckets asked for.' }),
    totals: z.object(counters),
    buckets: z.array(z.object({ key: z.string(), ...counters })),
  })
  .meta({ id: 'TenantUsage' });

export const adminUsageResponse = z
  .object({
    from: timestamp,
    to: timestamp,
    environment: environment.nullable().meta({ description: 'The environment counted; null = both.' }),
    data: z.array(z.object({ tenant_id: z.string(), ...counters })),
  })
  .meta({ id: 'AdminUsage' });

export const toolCallLogRow = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    session_id: z.string().nullable().meta({ description: "The session whose execute made the call; null for a job's own calls." }),
    job_id: z.string().nullable(),
    environment,
    server: z.string(),
    tool: z.string(),
    success: z.boolean(),
    denied: z.boolean().meta({ description: 'Refused before reaching any provider (outside the session, approval denied); never billed.' }),
    duration_ms: z.number().int(),
    error_code: z.string().nullable(),
    metadata: z.record(z.string(), z.string()).meta({ description: "The session metadata; tenant_id is always the row's tenant." }),
    called_at: timestamp,
  })
  .meta({ id: 'ToolCall' });

export const platformUsageResponse = z
  .object({
    from: timestamp,
    to: timestamp,
    tool_calls: z.array(toolCallLogRow),
    has_more: z.boolean(),
  })
  .meta({ id: 'PlatformUsage' });

export const invoiceResponse = z
  .object({
    id: z.string().meta({ example: 'inv_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    tenant_id: z.string(),
    period: z.string().meta({ example: '2026-11' }),
    currency: z.string(),
    status: z.enum(['draft', 'final']),
    lines: z.array(z.object({ description: z.string(), quantity: z.string(), unit_price: z.string(), amount: z.string() })),
    total: z.string().meta({ example: '12.50' }),
    usage_through: timestamp,
  })
  .meta({ id: 'Invoice' });

export const deliveryResponse = z
  .object({
    id: z.string().meta({ example: 'whd_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    event_id: z.string(),
    event_type: z.string(),
    job_id: z.string().nullable().meta({ description: 'The job whose event this is; null for tenant events.' }),
    url: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable().meta({ description: 'Why the last attempt failed (timeout, connection refused, …); null after a 2xx.' }),
    next_attempt_at: timestamp.nullable(),
    created_at: timestamp,
  })
  .meta({ id: 'WebhookDelivery' });

export const serverResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    category: z.string(),
    transport: z.enum(['http', 'stdio']),
    sandbox: z.boolean(),
    credential_fields: z.array(z.object({ name: z.string(), secret: z.boolean(), required: z.boolean() })),
    tools: z.array(z.object({ name: z.string(), description: z.string() })),
  })
  .meta({ id: 'Server' });

export const deliveryWithAttemptsResponse = deliveryResponse
  .extend({
    attempt_log: z.array(
      z.object({
        n: z.number().int(),
        status_code: z.number().int().nullable(),
        error: z.string().nullable(),
        duration_ms: z.number().int().nullable(),
        attempted_at: timestamp,
      }),
    ),
  })
  .meta({ id: 'WebhookDeliveryWithAttempts' });

export const jobEvent = z
  .object({
    id: z.string().meta({ example: 'evt_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    type: z.enum(['job.succeeded', 'job.failed', 'job.cancelled']),
    created_at: timestamp,
    data: jobResponse,
  })
  .meta({ id: 'JobEvent' });

export const list = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), has_more: z.boolean() });
export const dataOnly = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) });

export const sessionResponse = z
  .object({
    id: z.string().meta({ example: 'ses_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    object: z.literal('session'),
    user_id: z.string().meta({ description: 'The tenant id the session was created for (CodeSpar’s user_id).' }),
    tenant_id: z.string(),
    environment,
    servers: z.array(z.string()),
    metadata: z.record(z.string(), z.string()).meta({ description: 'Copied onto every tool call; tenant_id is always the session’s tenant.' }),
    status: z.enum(['active', 'closed']),
    created_at: timestamp,
    expires_at: timestamp.meta({ description: '30 minutes after the last call, at most 24 h after creation.' }),
    closed_at: timestamp.nullable(),
  })
  .meta({ id: 'Session' });

export const sessionWithCountResponse = sessionResponse
  .extend({ tool_calls_count: z.number().int().meta({ description: 'Tool calls metered for the session (executed and denied).' }) })
  .meta({ id: 'SessionWithCount' });

const sessionTool = z.object({
  name: z.string().meta({ description: '`<server>__<tool>`, an OpenAI-valid function name (^[a-zA-Z0-9_-]{1,64}$), unique in the session.' }),
  description: z.string(),
  input_schema: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema of the input, `type: "object"`.' }),
  server: z.string(),
});

export const sessionConnectionsResponse = z
  .object({
    servers: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        category: z.string(),
        auth_type: z.literal('api_key'),
        connected: z.boolean().meta({ description: 'Whether the tenant has credentials for it in the session’s environment.' }),
      }),
    ),
    tools: z.array(sessionTool),
  })
  .meta({ id: 'SessionConnections' });

export const toolResultResponse = z
  .object({
    success: z.boolean(),
    data: z.unknown().meta({ description: 'The provider’s answer (non-null on success).' }),
    error: z.string().nullable().meta({ description: 'Why it failed; `Tool not registered: <name>` for a name no server of the session has.' }),
    error_code: z
      .string()
      .nullable()
      .meta({ description: 'server_not_in_session, tool_not_found, invalid_arguments, credentials_missing, provider_error, timeout, connection_failed, …' }),
    duration: z.number().int().meta({ description: 'Milliseconds in the runtime.' }),
    server: z.string(),
    tool: z.string(),
    tool_call_id: z.string().meta({ example: 'tc_01jd8m4k2q3r5s6t7v8w9x0y1z' }),
    called_at: timestamp,
  })
  .meta({ id: 'ToolResult' });

export const sendResultResponse = z
  .object({
    message: z.string().meta({ description: 'The agent’s final answer.' }),
    tool_calls: z.array(
      z.object({
        id: z.string(),
        tool_name: z.string().meta({ description: 'The name the model called (`<server>__<tool>`).' }),
        server_id: z.string(),
        status: z.enum(['success', 'error']),
        duration_ms: z.number().int(),
        input: z.unknown().meta({ description: 'The arguments as the model wrote them.' }),
        output: z.unknown().meta({ description: 'The result as the model was shown it (large results are capped to a preview).' }),
        error_code: z.string().nullable(),
      }),
    ),
    iterations: z.number().int().meta({ description: 'Model turns.' }),
    job_id: z.string(),
  })
  .meta({ id: 'SendResult' });
