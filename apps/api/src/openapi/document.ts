import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { createApiKeyBody } from '../routes/admin-api-keys';
import { automations, createTenantBody, listTenantsQuery, patchTenantBody } from '../routes/admin-tenants';
import { listPlatformKeysQuery } from '../routes/admin-platform-keys';
import { credentialPutBody } from '../routes/credentials';
import { platformUsageQuery } from '../routes/usage';
import { tenantInvoicesQuery } from '../routes/invoices';
import { listDeliveriesQuery } from '../routes/webhook-deliveries';
import { createSessionBody, executeBody, sendBody, SESSION_ID } from '@agents/sessions';
import { apiKeyId, environment, idempotencyKey, jobId, listQuery, serverId, tenantId } from '../schemas';
import { agentJobBody, AGENT_EXAMPLE, workflowJobBody, WORKFLOW_EXAMPLE } from './job-body-doc';
import * as R from './response-schemas';

/**
 * The served OpenAPI 3.1 document (GET /openapi.json), generated from the same zod schemas the
 * routes validate with. Routes built elsewhere (usage, invoices, deliveries, hooks, automations)
 * are described from API.md. apps/api/test/openapi.test.ts lints it and checks API.md coverage.
 */
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json(R.errorResponse, description);

const COMMON_ERRORS = {
  400: err('validation_failed or invalid_json'),
  401: err('unauthorized: missing, malformed, unknown or revoked key'),
  429: err('rate_limited or quota_exceeded; Retry-After is set'),
  503: err('service_unavailable: Redis or Postgres unreachable; Retry-After is set'),
};
const BODY_ERRORS = { 413: err('payload_too_large (over 256 KiB)'), 415: err('unsupported_media_type: body not application/json') };
const OPERATOR_ERRORS = { ...COMMON_ERRORS, 403: err('forbidden: a tenant key on an operator route') };
const TENANT_ERRORS = { ...COMMON_ERRORS, 404: err('tenant_not_found (unknown, disabled or another tenant) or not_found') };

const adminTenantParams = z.object({ id: tenantId });
// The demo tenant (npm run demo seeds it), so Try-it-out works on the embedded defaults.
const tenantParams = z.object({ tid: tenantId.meta({ example: 'tenant_loja' }) });
const envQuery = z.object({ environment: environment.optional() });
const period = z.string().regex(/^[0-9]{4}-[0-9]{2}$/);
const isoTime = z.string().meta({ format: 'date-time' });
const deliveryId = z.string().regex(/^whd_[0-9a-z]{26}$/);
const sessionParams = z.object({ id: z.string().regex(SESSION_ID) });
const SESSION_ERRORS = {
  ...COMMON_ERRORS,
  404: err('session_not_found: unknown, or a session of another tenant or environment'),
  409: err('session_closed: the session was closed or expired'),
};

type Route = Omit<RouteConfig, 'responses'> & { responses: RouteConfig['responses'] };

function routes(): Route[] {
  return [
    // Operator: tenants
    {
      method: 'post',
      path: '/v1/admin/tenants',
      tags: ['Tenants'],
      summary: 'Create a tenant',
      operationId: 'createTenant',
      request: { body: { required: true, content: { 'application/json': { schema: createTenantBody } } } },
      responses: {
        201: json(R.createdTenantResponse, 'The tenant, with its webhook signing secret (shown only here).'),
        409: err('tenant_exists'),
        ...OPERATOR_ERRORS,
        ...BODY_ERRORS,
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants',
      tags: ['Tenants'],
      summary: 'List tenants',
      operationId: 'listTenants',
      request: { query: listTenantsQuery },
      responses: { 200: json(R.list(R.tenantResponse), 'Tenants, newest first.'), ...OPERATOR_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants/{id}',
      tags: ['Tenants'],
      summary: 'Get a tenant',
      operationId: 'getTenant',
      request: { params: adminTenantParams },
      responses: { 200: json(R.tenantResponse, 'The tenant (never its secrets).'), 404: err('tenant_not_found'), ...OPERATOR_ERRORS },
    },
    {
      method: 'patch',
      path: '/v1/admin/tenants/{id}',
      tags: ['Tenants'],
      summary: 'Update a tenant',
      operationId: 'updateTenant',
      description:
        'Any of name, servers, limits, plan, instructions, webhook_url, automations, disabled. Every API and worker process sees the change within a second.',
      request: { params: adminTenantParams, body: { required: true, content: { 'application/json': { schema: patchTenantBody } } } },
      responses: { 200: json(R.tenantResponse, 'The updated tenant.'), 404: err('tenant_not_found'), ...OPERATOR_ERRORS, ...BODY_ERRORS },
    },
    {
      method: 'post',
      path: '/v1/admin/tenants/{id}/webhook-secret/rotate',
      tags: ['Tenants'],
      summary: 'Rotate the webhook signing secret',
      operationId: 'rotateWebhookSecret',
      description: 'The previous secret keeps signing beside the new one for 24 hours.',
      request: { params: adminTenantParams },
      responses: { 200: json(R.webhookSecretResponse, 'The new secret (shown only here).'), 404: err('tenant_not_found'), ...OPERATOR_ERRORS },
    },
    // Operator: API keys
    {
      method: 'post',
      path: '/v1/admin/tenants/{id}/api-keys',
      tags: ['API keys'],
      summary: 'Issue a tenant API key',
      operationId: 'createApiKey',
      request: { params: adminTenantParams, body: { required: true, content: { 'application/json': { schema: createApiKeyBody } } } },
      responses: {
        201: json(R.createdApiKeyResponse, 'The key record with the full key (shown only here).'),
        404: err('tenant_not_found'),
        ...OPERATOR_ERRORS,
        ...BODY_ERRORS,
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants/{id}/api-keys',
      tags: ['API keys'],
      summary: "List a tenant's API keys",
      operationId: 'listApiKeys',
      request: { params: adminTenantParams },
      responses: { 200: json(R.list(R.apiKeyResponse), 'Live keys, prefixes only.'), 404: err('tenant_not_found'), ...OPERATOR_ERRORS },
    },
    {
      method: 'delete',
      path: '/v1/admin/tenants/{id}/api-keys/{key_id}',
      tags: ['API keys'],
      summary: 'Revoke an API key',
      operationId: 'revokeApiKey',
      description: 'The key stops working within one second on every API process.',
      request: { params: z.object({ id: tenantId, key_id: apiKeyId }) },
      responses: { 204: { description: 'Revoked.' }, 404: err('tenant_not_found or not_found'), ...OPERATOR_ERRORS },
    },
    // Operator: platform keys
    {
      method: 'post',
      path: '/v1/admin/api-keys',
      tags: ['API keys'],
      summary: 'Issue a platform key',
      operationId: 'createPlatformKey',
      description:
        'A platform key (csk_test_… / csk_live_…) acts, in its own environment, as the tenant key of every tenant, and may call GET /v1/usage; never /v1/admin/*.',
      request: { body: { required: true, content: { 'application/json': { schema: createApiKeyBody } } } },
      responses: {
        201: json(R.createdApiKeyResponse, 'The key record with the full csk_ key (shown only here).'),
        ...OPERATOR_ERRORS,
        ...BODY_ERRORS,
      },
    },
    {
      method: 'get',
      path: '/v1/admin/api-keys',
      tags: ['API keys'],
      summary: 'List platform keys',
      operationId: 'listPlatformKeys',
      request: { query: listPlatformKeysQuery },
      responses: { 200: json(R.list(R.apiKeyResponse), 'Platform keys not revoked, newest first, prefixes only.'), ...OPERATOR_ERRORS },
    },
    {
      method: 'delete',
      path: '/v1/admin/api-keys/{key_id}',
      tags: ['API keys'],
      summary: 'Revoke a platform key',
      operationId: 'revokePlatformKey',
      description: 'The key stops working within one second on every API process.',
      request: { params: z.object({ key_id: apiKeyId }) },
      responses: { 204: { description: 'Revoked.' }, 404: err('not_found'), ...OPERATOR_ERRORS },
    },
    // Operator: usage and billing
    {
      method: 'get',
      path: '/v1/admin/usage',
      tags: ['Usage'],
      summary: 'Usage across tenants',
      operationId: 'adminUsage',
      request: { query: z.object({ from: isoTime.optional(), to: isoTime.optional(), environment: environment.optional() }) },
      responses: { 200: json(R.adminUsageResponse, 'Per-tenant counters for the window.'), ...OPERATOR_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/usage',
      tags: ['Usage'],
      summary: "Every tenant's tool calls (platform key)",
      operationId: 'platformUsage',
      description:
        "A platform key sees its own environment; the operator key names one with ?environment= (default live); a tenant key gets 403 forbidden. Oldest first; metadata.tenant_id is always the call's tenant.",
      request: {
        query: z.object({
          from: isoTime.optional().meta({ description: 'Default: the start of the current UTC month.' }),
          to: isoTime.optional().meta({ description: 'Default: now.' }),
          limit: platformUsageQuery.shape.limit,
          starting_after: platformUsageQuery.shape.starting_after,
          environment: environment.optional().meta({ description: 'Operator key only (a platform key sees its own).' }),
        }),
      },
      responses: {
        200: json(R.platformUsageResponse, 'Tool calls of every tenant in the window, oldest first.'),
        ...COMMON_ERRORS,
        403: err('forbidden: a tenant key'),
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tool-calls',
      tags: ['Usage'],
      summary: 'The raw tool-call log',
      operationId: 'adminToolCalls',
      request: {
        query: z.object({
          tenant_id: tenantId.optional(),
          environment: environment.optional(),
          from: isoTime.optional(),
          to: isoTime.optional(),
          limit: listQuery.shape.limit,
          starting_after: z.string().max(64).optional(),
        }),
      },
      responses: { 200: json(R.list(R.toolCallLogRow), 'Tool calls, newest first, each with the session metadata.'), ...OPERATOR_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/admin/invoices',
      tags: ['Billing'],
      summary: 'Invoices of a period',
      operationId: 'adminInvoices',
      request: { query: z.object({ period }) },
      responses: { 200: json(R.dataOnly(R.invoiceResponse), 'One invoice per tenant with live usage or a base fee.'), ...OPERATOR_ERRORS },
    },
    // Tenant: credentials
    {
      method: 'put',
      path: '/v1/tenants/{tid}/credentials/{server}',
      tags: ['Credentials'],
      summary: 'Store credentials for a server',
      operationId: 'putCredentials',
      description: 'Values are sealed with the tenant data key and never returned.',
      request: {
        params: z.object({ tid: tenantId, server: serverId }),
        query: envQuery,
        body: { required: true, content: { 'application/json': { schema: credentialPutBody } } },
      },
      responses: { 204: { description: 'Stored.' }, 422: err('server_not_allowed'), ...TENANT_ERRORS, ...BODY_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/credentials',
      tags: ['Credentials'],
      summary: 'List stored credentials (field names only)',
      operationId: 'listCredentials',
      request: { params: tenantParams },
      responses: { 200: json(R.dataOnly(R.credentialSummaryResponse), 'Field names only, never values.'), ...TENANT_ERRORS },
    },
    {
      method: 'delete',
      path: '/v1/tenants/{tid}/credentials/{server}',
      tags: ['Credentials'],
      summary: 'Delete credentials for a server',
      operationId: 'deleteCredentials',
      request: { params: z.object({ tid: tenantId, server: serverId }), query: envQuery },
      responses: { 204: { description: 'Deleted.' }, 422: err('server_not_allowed'), ...TENANT_ERRORS },
    },
    // Tenant: jobs
    {
      method: 'post',
      path: '/v1/tenants/{tid}/jobs',
      tags: ['Jobs'],
      summary: 'Submit a job',
      operationId: 'createJob',
      request: {
        params: tenantParams,
        headers: z.object({ 'Idempotency-Key': idempotencyKey.optional() }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.union([agentJobBody, workflowJobBody]).meta({ id: 'CreateJob' }),
              examples: {
                agent: { summary: 'An agent job (the scripted model answers it offline)', value: AGENT_EXAMPLE },
                workflow: { summary: 'A workflow job (deterministic, no model)', value: WORKFLOW_EXAMPLE },
              },
            },
          },
        },
      },
      responses: {
        202: {
          ...json(R.jobResponse, 'Accepted; durable before this response.'),
          headers: { Location: { description: '/v1/tenants/{tid}/jobs/{id}', schema: { type: 'string' } } },
        },
        422: err('server_not_allowed or idempotency_key_reused'),
        ...TENANT_ERRORS,
        400: err(
          "validation_failed, invalid_json, model_not_allowed (`model` is not one of the operator's OPENAI_ALLOWED_MODELS), or unknown_tool (a workflow step names a server or tool the catalog does not have; `details[0].path` names the step)",
        ),
        ...BODY_ERRORS,
      },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/jobs',
      tags: ['Jobs'],
      summary: 'List jobs',
      operationId: 'listJobs',
      request: { params: tenantParams, query: listQuery },
      responses: { 200: json(R.list(R.jobResponse), 'Jobs of the caller’s environment, newest first.'), ...TENANT_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/jobs/{job_id}',
      tags: ['Jobs'],
      summary: 'Get a job',
      operationId: 'getJob',
      request: { params: z.object({ tid: tenantId, job_id: jobId }) },
      responses: { 200: json(R.jobResponse, 'The job.'), ...TENANT_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/jobs/{job_id}/events',
      tags: ['Jobs'],
      summary: 'Live progress of a job (Server-Sent Events)',
      operationId: 'jobEvents',
      description:
        'A stream of frames `id: <n>\\nevent: <type>\\ndata: <one JSON line>\\n\\n` (LF only), in order, from the job’s creation to its end; the server closes the stream after the terminal event ' +
        '(at once, after the replay, for a finished job). `<n>` counts from 1 per job and is the same on every API process: reconnect with `Last-Event-ID: <n>` (or `?after=<n>`; the header wins) to get exactly the frames after `n`. ' +
        'Types: `job.queued` `{job_id, created_at}`, `job.started` `{job_id, attempt, started_at}`, `model.turn` `{job_id, turn, content, tool_calls: [{id, name, arguments}], usage: {input_tokens, output_tokens}}`, ' +
        '`tool.call` `{job_id, tool_call: {id, server, tool, success, duration_ms, error}}` (a workflow’s steps too), and the terminal `job.succeeded` / `job.failed` / `job.cancelled` whose data is the job object. ' +
        'A comment frame `: keep-alive` every 15 s while nothing happens. No `Accept` header is served as the stream; an `Accept` that excludes `text/event-stream` is 406 `not_acceptable`.',
      request: {
        params: z.object({ tid: tenantId, job_id: jobId }),
        query: z.object({
          after: z
            .string()
            .regex(/^\d{1,9}$/)
            .optional()
            .meta({ description: 'Resume after this event id (when no Last-Event-ID is sent).' }),
        }),
        headers: z.object({
          'Last-Event-ID': z
            .string()
            .regex(/^\d{1,9}$/)
            .optional()
            .meta({ description: 'The id of the last frame received; the stream resumes after it.' }),
        }),
      },
      responses: {
        200: {
          description: 'The event stream.',
          content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events frames, see the description.' }) } },
        },
        ...TENANT_ERRORS,
        400: err('validation_failed: Last-Event-ID or after is not a non-negative integer'),
        406: err('not_acceptable: the Accept header excludes text/event-stream'),
      },
    },
    {
      method: 'post',
      path: '/v1/tenants/{tid}/jobs/{job_id}/cancel',
      tags: ['Jobs'],
      summary: 'Cancel a job',
      operationId: 'cancelJob',
      request: { params: z.object({ tid: tenantId, job_id: jobId }) },
      responses: { 200: json(R.jobResponse, 'The job (cancelled at once if queued).'), 409: err('job_not_cancellable'), ...TENANT_ERRORS },
    },
    {
      method: 'post',
      path: '/v1/tenants/{tid}/jobs/{job_id}/retry',
      tags: ['Jobs'],
      summary: 'Retry a failed job (operator)',
      operationId: 'retryJob',
      description:
        'Operator key only. A `failed` job becomes `queued` again and its next attempt resumes from its last checkpoint: tool calls that completed are not made again; the step that failed is. ' +
        "Its new terminal state sends a new callback. Concurrent retries make one new attempt (the others get 409). Bull Board's Retry on the failed entry does the same.",
      request: { params: z.object({ tid: tenantId, job_id: jobId }) },
      responses: {
        202: json(R.jobResponse, 'The job, queued again.'),
        409: err('job_not_retryable: the job is not failed (queued, running, awaiting approval, succeeded or cancelled)'),
        ...TENANT_ERRORS,
        403: err('forbidden: a tenant or platform key (this route needs the operator key)'),
      },
    },
    // Tenant: usage, invoices, deliveries, automations
    {
      method: 'get',
      path: '/v1/tenants/{tid}/usage',
      tags: ['Usage'],
      summary: "The tenant's usage",
      operationId: 'tenantUsage',
      request: {
        params: tenantParams,
        query: z.object({
          from: isoTime.optional(),
          to: isoTime.optional(),
          group_by: z.enum(['day', 'server', 'tool']).optional(),
          environment: environment.optional(),
        }),
      },
      responses: { 200: json(R.usageResponse, 'Totals and buckets.'), ...TENANT_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/invoices',
      tags: ['Billing'],
      summary: "The tenant's invoices",
      operationId: 'tenantInvoices',
      request: { params: tenantParams, query: tenantInvoicesQuery },
      responses: { 200: json(R.list(R.invoiceResponse), 'Invoices, newest first.'), ...TENANT_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/webhook-deliveries',
      tags: ['Webhooks'],
      summary: 'List webhook deliveries',
      operationId: 'listDeliveries',
      request: { params: tenantParams, query: listDeliveriesQuery },
      responses: { 200: json(R.list(R.deliveryResponse), 'Deliveries, newest first.'), ...TENANT_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/tenants/{tid}/webhook-deliveries/{id}',
      tags: ['Webhooks'],
      summary: 'Get a webhook delivery with its attempts',
      operationId: 'getDelivery',
      request: { params: z.object({ tid: tenantId, id: deliveryId }) },
      responses: { 200: json(R.deliveryWithAttemptsResponse, 'The delivery and every attempt made.'), ...TENANT_ERRORS },
    },
    {
      method: 'post',
      path: '/v1/tenants/{tid}/webhook-deliveries/{id}/redeliver',
      tags: ['Webhooks'],
      summary: 'Redeliver a webhook',
      operationId: 'redeliverWebhook',
      request: { params: z.object({ tid: tenantId, id: deliveryId }) },
      responses: { 202: json(R.deliveryResponse, 'Queued for delivery.'), ...TENANT_ERRORS },
    },
    {
      method: 'put',
      path: '/v1/tenants/{tid}/automations',
      tags: ['Automations'],
      summary: "Replace the tenant's automations",
      operationId: 'putAutomations',
      description:
        'Replaces the list of one environment: a tenant key’s own (asking for the other is 400 validation_failed), for the operator `?environment=` (default live). A hook for environment E runs only E’s list. Steps may only name the tenant’s own servers (else 400 validation_failed).',
      request: { params: tenantParams, query: envQuery, body: { required: true, content: { 'application/json': { schema: z.object({ automations }) } } } },
      responses: { 200: json(z.object({ environment, automations }), 'The stored automations of that environment.'), ...TENANT_ERRORS, ...BODY_ERRORS },
    },
    // Catalog
    {
      method: 'get',
      path: '/v1/servers',
      tags: ['Catalog'],
      summary: 'The server catalog',
      operationId: 'listServers',
      responses: { 200: json(R.dataOnly(R.serverResponse), 'Every server a tenant can be given.'), 401: COMMON_ERRORS[401] },
    },
    // Inbound provider webhooks (no bearer key: the provider's own signature)
    {
      method: 'post',
      path: '/hooks/{tid}/{server}',
      tags: ['Provider webhooks'],
      summary: 'Receive a provider webhook',
      operationId: 'receiveProviderWebhook',
      description:
        "Authenticated by the provider's signature (Stripe-Signature, asaas-access-token, X-ME-Signature) against the tenant's webhook_secret credential.",
      security: [],
      request: {
        params: z.object({ tid: tenantId, server: serverId }),
        query: z.object({ environment: environment.optional() }),
        body: { required: true, content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
      },
      responses: {
        200: { description: 'Accepted; the work is queued.' },
        401: err('bad or missing signature, unknown tenant, or a tenant without that server or secret (one answer for all)'),
        404: err('not_found: no provider of that name sends webhooks'),
        429: err('rate_limited: too many failed verifications from this address for this tenant path; see Retry-After'),
        ...BODY_ERRORS,
      },
    },
    // Operations
    // Sessions (CodeSpar-compatible)
    {
      method: 'post',
      path: '/v1/sessions',
      tags: ['Sessions'],
      summary: 'Create a session',
      operationId: 'createSession',
      description:
        '`user_id` names the tenant (a tenant key may omit it, and may name only its own). `servers` ⊆ the tenant’s, possibly empty. The environment is the key’s; the operator’s body may say `"environment": "test"` (default live). `mocks` is accepted and ignored.',
      request: { body: { required: true, content: { 'application/json': { schema: createSessionBody } } } },
      responses: {
        201: json(R.sessionResponse, 'The session.'),
        ...COMMON_ERRORS,
        ...BODY_ERRORS,
        404: err('tenant_not_found'),
        422: err('server_not_allowed: a server the tenant does not have'),
      },
    },
    {
      method: 'get',
      path: '/v1/sessions/{id}',
      tags: ['Sessions'],
      summary: 'Get a session',
      operationId: 'getSession',
      request: { params: sessionParams },
      responses: { 200: json(R.sessionWithCountResponse, 'The session, active or closed.'), ...COMMON_ERRORS, 404: SESSION_ERRORS[404] },
    },
    {
      method: 'get',
      path: '/v1/sessions/{id}/connections',
      tags: ['Sessions'],
      summary: 'The session’s servers and tools',
      operationId: 'sessionConnections',
      request: { params: sessionParams },
      responses: {
        200: json(R.sessionConnectionsResponse, 'Servers (with whether credentials exist) and exactly their tools.'),
        ...COMMON_ERRORS,
        404: SESSION_ERRORS[404],
      },
    },
    {
      method: 'post',
      path: '/v1/sessions/{id}/execute',
      tags: ['Sessions'],
      summary: 'Run one tool call',
      operationId: 'executeTool',
      description:
        'Body `{tool: "<server>__<tool>" | "<server>/<tool>", input | params}` or `{tool: <OpenAI tool-call object>}` (its `function.arguments` is JSON text). ' +
        'The call runs in a worker on the tenant’s queue (concurrency cap, quota, metering). Tool-level outcomes are always 200 with `success: false`: a server outside the session is `server_not_in_session` (denied, metered, never reaching a server); an unknown name is `Tool not registered: <name>`. ' +
        '`codespar_list_tools` (input `{}`) answers `data: {tools}` as connections does, contacts no provider and is not metered.',
      request: { params: sessionParams, body: { required: true, content: { 'application/json': { schema: executeBody } } } },
      responses: {
        200: json(R.toolResultResponse, 'The tool result (a tool failure too).'),
        ...SESSION_ERRORS,
        ...BODY_ERRORS,
        503: err('service_unavailable: Redis or Postgres unreachable, or no worker finished the call within 55 s; Retry-After is set'),
      },
    },
    {
      method: 'post',
      path: '/v1/sessions/{id}/send',
      tags: ['Sessions'],
      summary: 'Send a message to the agent',
      operationId: 'sendMessage',
      description:
        'Runs the agent loop as an `agent` job of the session (its tenant, environment, servers and metadata; the job id is in `X-Job-Id`). ' +
        '`Accept: application/json` (or none) answers once the job ends; a job that fails answers its error (its code, 4xx/5xx). ' +
        '`Accept: text/event-stream` streams frames `event: <name>\\ndata: <JSON with "type": "<name>">\\n\\n` (LF only): `user_message` `{content}`, `assistant_text` `{content, iteration}`, `tool_use` `{id, name, input}`, ' +
        '`tool_result` (the tool-call record, also under `toolCall`), `done` (the SendResult, also under `result`), `error` `{error, message}`; it ends after `done` or `error`, with `: keep-alive` every 15 s. ' +
        'If the client goes away the job still finishes and stays readable at its job routes.',
      request: { params: sessionParams, body: { required: true, content: { 'application/json': { schema: sendBody } } } },
      responses: {
        200: {
          description: 'The SendResult (JSON), or the event stream.',
          headers: z.object({ 'X-Job-Id': z.string().meta({ description: 'The agent job that runs the message.' }) }),
          content: {
            'application/json': { schema: R.sendResultResponse },
            'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events frames, see the description.' }) },
          },
        },
        ...SESSION_ERRORS,
        ...BODY_ERRORS,
        406: err('not_acceptable: the Accept header allows neither application/json nor text/event-stream'),
        502: err('the job failed (the model or a provider failed it): its own error code'),
      },
    },
    {
      method: 'delete',
      path: '/v1/sessions/{id}',
      tags: ['Sessions'],
      summary: 'Close a session',
      operationId: 'closeSession',
      description: 'Idempotent; later calls on the session answer 409 session_closed.',
      request: { params: sessionParams },
      responses: { 204: { description: 'Closed.' }, ...COMMON_ERRORS, 404: SESSION_ERRORS[404] },
    },
    {
      method: 'get',
      path: '/healthz',
      tags: ['Operations'],
      summary: 'Liveness',
      operationId: 'healthz',
      security: [],
      responses: { 200: json(z.object({ status: z.literal('ok') }), 'The process runs.') },
    },
    {
      method: 'get',
      path: '/readyz',
      tags: ['Operations'],
      summary: 'Readiness',
      operationId: 'readyz',
      security: [],
      responses: {
        200: json(z.object({ status: z.string(), checks: z.object({ redis: z.string(), postgres: z.string() }) }), 'Redis and Postgres answer.'),
        503: json(z.object({ status: z.string(), checks: z.object({ redis: z.string(), postgres: z.string() }) }), 'A dependency is down.'),
      },
    },
    {
      method: 'get',
      path: '/metrics',
      tags: ['Operations'],
      summary: 'Prometheus metrics',
      operationId: 'metrics',
      description: 'Operator key or METRICS_TOKEN as the bearer.',
      responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: z.string() } } }, 401: COMMON_ERRORS[401] },
    },
  ];
}

/** Response headers, declared once (components.headers) and referenced by every response that carries them. */
const HEADERS: Record<string, { description: string; schema: object }> = {
  'X-Request-Id': {
    description:
      'The request id (the caller’s X-Request-Id when well formed, else a new one); every log line of the request and of the jobs it creates carries it.',
    schema: { type: 'string' },
  },
  'RateLimit-Limit': { description: "The tenant's limits.requests_per_minute (tenant routes).", schema: { type: 'integer' } },
  'RateLimit-Remaining': {
    description: 'Requests left in the current window (each environment, and the operator, have their own).',
    schema: { type: 'integer' },
  },
  'RateLimit-Reset': { description: 'Seconds until the window resets.', schema: { type: 'integer' } },
  'Retry-After': { description: 'Seconds to wait before retrying (429 rate_limited, 503 service_unavailable).', schema: { type: 'integer' } },
  'WWW-Authenticate': {
    description: 'The challenge (RFC 6750): `Bearer realm="api"`, with `error="invalid_request"` or `error="invalid_token"` when credentials were sent.',
    schema: { type: 'string' },
  },
  'Idempotent-Replayed': {
    description: '`true` when this answer replays the job of an earlier request with the same Idempotency-Key and body.',
    schema: { type: 'string', enum: ['true'] },
  },
};

/** Which declared headers a response of `path` with `status` can carry. */
function headersOf(path: string, operationId: string, status: string): string[] {
  const out = ['X-Request-Id'];
  // Counted after authentication: a 401 never carries them.
  if ((path.startsWith('/v1/tenants/') || path.startsWith('/v1/sessions')) && status !== '401')
    out.push('RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset');
  if (status === '429' || status === '503') out.push('Retry-After');
  if (status === '401') out.push('WWW-Authenticate');
  if (operationId === 'createJob' && status === '202') out.push('Idempotent-Replayed');
  return out;
}

/** Adds the header references to every response of the generated document. */
function declareHeaders(document: {
  paths?: Record<string, Record<string, { operationId?: string; responses?: Record<string, { headers?: Record<string, unknown> }> }>>;
  components?: Record<string, unknown>;
}): void {
  document.components = { ...document.components, headers: Object.fromEntries(Object.entries(HEADERS).map(([name, h]) => [name, h])) };
  for (const [path, ops] of Object.entries(document.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const refs = Object.fromEntries(headersOf(path, op.operationId ?? '', status).map((h) => [h, { $ref: `#/components/headers/${h}` }]));
        response.headers = { ...response.headers, ...refs };
      }
    }
  }
}

let cached: object | undefined;

/** Builds (once per process) the OpenAPI 3.1 document. */
export function openApiDocument(): object {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'The operator key (OPERATOR_API_KEY), a tenant key (ak_test_… / ak_live_…) or a platform key (csk_test_… / csk_live_…).',
  });
  for (const route of routes()) registry.registerPath(route as RouteConfig);
  registry.registerWebhook({
    method: 'post',
    path: 'job-event',
    summary: 'Job reached a terminal state',
    operationId: 'jobEvent',
    description: "POSTed to the job's callback_url (or the tenant's webhook_url), signed per Standard Webhooks with the tenant's whsec_ secret.",
    request: {
      headers: z.object({ 'webhook-id': z.string(), 'webhook-timestamp': z.string(), 'webhook-signature': z.string() }),
      body: { required: true, content: { 'application/json': { schema: R.jobEvent } } },
    },
    responses: { 200: { description: 'Any 2xx means delivered; 410 stops retries.' } },
  });
  const generator = new OpenApiGeneratorV31(registry.definitions);
  cached = generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Commerce agents API',
      version: '1.0.0',
      description: 'Multi-tenant commerce-agent platform: tenants, API keys, credentials, jobs, usage and billing.',
      license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
    },
    servers: [{ url: '/', description: 'The deployment serving this document' }],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'Tenants', description: 'Operator: tenant lifecycle.' },
      { name: 'API keys', description: 'Operator: tenant and platform API keys (shown once, stored hashed).' },
      { name: 'Usage', description: 'Metered tool calls and tokens.' },
      { name: 'Billing', description: 'Invoices from rolled-up live usage.' },
      { name: 'Credentials', description: "A tenant's provider secrets (write-only)." },
      { name: 'Jobs', description: 'Agent and workflow jobs.' },
      { name: 'Sessions', description: 'CodeSpar-compatible sessions: one tool call at a time, or a message to the agent.' },
      { name: 'Webhooks', description: 'Outbound job callbacks.' },
      { name: 'Automations', description: 'Workflows triggered by provider events.' },
      { name: 'Catalog', description: 'Available MCP servers.' },
      { name: 'Provider webhooks', description: 'Inbound provider events.' },
      { name: 'Operations', description: 'Health and metrics.' },
    ],
  });
  declareHeaders(cached as Parameters<typeof declareHeaders>[0]);
  // Exactly one branch matches any body (`type` tells them apart; both are strict objects): oneOf,
  // which zod's union cannot say.
  const schemas = (cached as { components: { schemas: Record<string, { anyOf?: unknown; oneOf?: unknown }> } }).components.schemas;
  const createJob = schemas.CreateJob!;
  createJob.oneOf = createJob.anyOf;
  delete createJob.anyOf;
  return cached;
}
