import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** JSON columns: pg returns parsed values, and we write them as JSON text. */
export type Json<T> = ColumnType<T, string, string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type Environment = 'test' | 'live';
export type JobType = 'agent' | 'workflow';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface TenantLimits {
  concurrency: number;
  requests_per_minute: number;
  monthly_tool_calls: number;
  max_iterations: number;
}

export interface TenantPlan {
  currency: string;
  base_fee: number;
  price_per_tool_call: number;
  price_per_1k_tokens: number;
  included_tool_calls: number;
}

export interface WorkflowStep {
  tool: string;
  args: Record<string, unknown>;
}

export interface Automation {
  on: string;
  steps: WorkflowStep[];
}

export interface JobError {
  code: string;
  message: string;
}

export interface TenantsTable {
  id: string;
  name: string;
  servers: string[];
  limits: Json<TenantLimits>;
  plan: Json<TenantPlan>;
  instructions: string | null;
  webhook_url: string | null;
  disabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A tenant's automations of one environment (migration 0007); no row reads as an empty list. */
export interface TenantAutomationsTable {
  tenant_id: string;
  environment: Environment;
  automations: ColumnType<Automation[], string, string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Both environments' automations of a tenant, as the admin API shows and takes them. */
export type AutomationsByEnvironment = Record<Environment, Automation[]>;

export interface JobsTable {
  id: string;
  tenant_id: string;
  environment: Environment;
  type: JobType;
  status: JobStatus;
  input: string | null;
  steps: ColumnType<WorkflowStep[] | null, string | null, string | null>;
  servers: string[];
  metadata: Json<Record<string, string>>;
  callback_url: string | null;
  max_iterations: number | null;
  model: string | null;
  output: ColumnType<unknown, string | null | undefined, string | null>;
  error: ColumnType<JobError | null, string | null | undefined, string | null>;
  attempts: ColumnType<number, number | undefined, number>;
  idempotency_key: string | null;
  request_hash: string | null;
  enqueued_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  cancel_requested_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
  started_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** What `{{event...}}` references of an automation's workflow read (migration 0005); null otherwise. */
  context: ColumnType<JobContext | null, string | null | undefined, string | null>;
  /** The X-Request-Id of the request that created the job (migration 0009); for its logs only. */
  request_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** W3C trace id and the caller's span id from that request's `traceparent`, when it was valid. */
  trace_id: ColumnType<string | null, string | null | undefined, string | null>;
  parent_span_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The session whose message this agent job answers (migration 0016); null for every other job. */
  session_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Explicit retries of the job after it failed (migration 0010); each is a new generation. */
  retries: ColumnType<number, number | undefined, number>;
  /** BullMQ attemptsMade of the queue run that last failed the job's entry (migration 0010). */
  failed_queue_attempt: ColumnType<number | null, number | null | undefined, number | null>;
}

/** Extra template context of a job: the normalised provider event that triggered it. */
export interface JobContext {
  event?: Record<string, unknown>;
}

export type ProviderEventOutcome = 'triggered' | 'no_automation' | 'ignored' | 'duplicate_payment';

/** Dedupe ledger of verified inbound provider webhooks (migration 0005). */
export interface ProviderEventsTable {
  id: string;
  tenant_id: string;
  environment: Environment;
  server: string;
  provider_event_id: string;
  provider_event_type: string;
  event_type: string | null;
  payment_key: string | null;
  outcome: ProviderEventOutcome;
  job_ids: ColumnType<string[], string[] | undefined, string[]>;
  received_at: CreatedAt;
}

export interface JobStepsTable {
  job_id: string;
  seq: number;
  kind: 'model_turn' | 'tool_call' | 'workflow_step';
  payload: Json<unknown>;
  created_at: CreatedAt;
}

/** One row per attempt's start (migration 0013): `job.started` in the job's event log. */
export interface JobAttemptsTable {
  job_id: string;
  attempt: number;
  job_retry: number;
  /** The highest job_steps seq when the attempt started (-1: none); orders the start among the steps. */
  after_seq: number;
  started_at: CreatedAt;
}

export interface UsageEventsTable {
  seq: Generated<string>;
  id: string;
  idempotency_key: string;
  tenant_id: string;
  environment: Environment;
  job_id: string | null;
  /** The session whose `execute` made this call (sessions only). */
  session_id: ColumnType<string | null, string | null | undefined, string | null>;
  kind: 'tool_call' | 'model_turn';
  server: string | null;
  tool: string | null;
  success: boolean;
  denied: ColumnType<boolean, boolean | undefined, boolean>;
  error_code: string | null;
  duration_ms: ColumnType<number, number | undefined, number>;
  input_tokens: ColumnType<number, number | undefined, number>;
  output_tokens: ColumnType<number, number | undefined, number>;
  metadata: ColumnType<Record<string, string>, string | undefined, string>;
  occurred_at: ColumnType<Date, Date | string | undefined, never>;
  /** xid8 of the inserting transaction (as text); set by Postgres. */
  txid: ColumnType<string, never, never>;
}

/**
 * The idempotency keys of usage_events rows (migration 0015): a partitioned table cannot hold a
 * unique key without its partition key, so exactly-once lives here, claimed by a trigger.
 */
export interface UsageEventKeysTable {
  idempotency_key: string;
  /** The row's id: unique across every month. */
  id: string;
  /** The UTC month (first day) of the row's occurred_at. */
  month: ColumnType<Date, string, never>;
}

export interface TenantDataKeysTable {
  tenant_id: string;
  kid: string;
  wrapped: string;
  created_at: CreatedAt;
  rotated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface CredentialsTable {
  tenant_id: string;
  server: string;
  environment: Environment;
  sealed: Json<{ v: 1; iv: string; tag: string; ct: string }>;
  fields: string[];
  version: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  environment: Environment;
  name: string | null;
  prefix: string;
  key_hash: string;
  created_at: CreatedAt;
  last_used_at: NullableTime;
  revoked_at: NullableTime;
}

/** Platform keys (csk_): one key acting as the tenant key of every tenant, in its environment (migration 0012). */
export interface PlatformKeysTable {
  id: string;
  environment: Environment;
  name: string | null;
  prefix: string;
  key_hash: string;
  created_at: CreatedAt;
  last_used_at: NullableTime;
  revoked_at: NullableTime;
}

export interface WebhookSecretsTable {
  id: string;
  tenant_id: string;
  sealed: Json<{ v: 1; iv: string; tag: string; ct: string }>;
  created_at: CreatedAt;
  expires_at: NullableTime;
}

export interface WebhookEventsTable {
  id: string;
  tenant_id: string;
  environment: Environment;
  job_id: string | null;
  type: string;
  /** The body receivers get, rendered from the job view by its first delivery (null until then). */
  payload: ColumnType<unknown, string | null | undefined, string>;
  /** The job's generation (jobs.retries) the event belongs to (migration 0010). */
  job_retry: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  tenant_id: string;
  environment: Environment;
  job_id: string | null;
  event_type: string;
  url: string;
  status: DeliveryStatus;
  attempts: ColumnType<number, number | undefined, number>;
  last_status_code: Nullable<number>;
  last_error: Nullable<string>;
  next_attempt_at: NullableTime;
  enqueued_at: NullableTime;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  n: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: CreatedAt;
}

export interface UsageRollupsTable {
  tenant_id: string;
  environment: Environment;
  hour: Timestamp;
  kind: 'tool_call' | 'model_turn';
  server: ColumnType<string, string | undefined, string>;
  tool: ColumnType<string, string | undefined, string>;
  events: ColumnType<number, number | undefined, number>;
  failures: ColumnType<number, number | undefined, number>;
  denied: ColumnType<number, number | undefined, number>;
  duration_ms: ColumnType<number, number | undefined, number>;
  input_tokens: ColumnType<number, number | undefined, number>;
  output_tokens: ColumnType<number, number | undefined, number>;
}

export interface RollupStateTable {
  id: number;
  /** xid8 as text. */
  watermark: string;
  last_run_at: NullableTime;
  events_total: ColumnType<number, number | undefined, number>;
  /** Every event with occurred_at before this instant is in usage_rollups (migration 0004). */
  usage_through: NullableTime;
}

export interface InvoiceLine {
  description: string;
  quantity: string;
  unit_price: string;
  amount: string;
}

export interface InvoicesTable {
  id: string;
  tenant_id: string;
  period: string;
  currency: string;
  status: 'draft' | 'final';
  lines: Json<InvoiceLine[]>;
  /** numeric(14,2), kept as a string end to end (never a float). */
  total: string;
  usage_through: Timestamp;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface SessionsTable {
  id: string;
  tenant_id: string;
  environment: Environment;
  /** The CodeSpar `user_id` the session was created with (the tenant id). */
  user_id: string;
  servers: Json<string[]>;
  metadata: Json<Record<string, string>>;
  created_at: CreatedAt;
  last_used_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Idle deadline: moved on every call, never past hard_expires_at. */
  expires_at: Timestamp;
  hard_expires_at: ColumnType<Date, Date | string, never>;
  closed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** The stored answer of one session call (CodeSpar's ToolResult on the wire). */
/** A session call's answer: the CodeSpar ToolResult, or why it was refused before any server was contacted. */
export type SessionCallResult = SessionToolResult | SessionCallRefusal;

/** A call refused as a whole (the quota, the tenant gone): answered as an HTTP error, never billed. */
export interface SessionCallRefusal {
  refused: { code: 'quota_exceeded' | 'tenant_not_found' | 'service_unavailable'; message: string };
}

export interface SessionToolResult {
  success: boolean;
  data: unknown;
  error: string | null;
  error_code: string | null;
  duration: number;
  server: string;
  tool: string;
  tool_call_id: string;
  called_at: string;
}

export interface SessionCallsTable {
  id: string;
  session_id: string;
  tenant_id: string;
  environment: Environment;
  server: string;
  tool: string;
  input: Json<Record<string, unknown>>;
  result: ColumnType<SessionCallResult | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface Database {
  sessions: SessionsTable;
  session_calls: SessionCallsTable;
  api_keys: ApiKeysTable;
  platform_keys: PlatformKeysTable;
  webhook_secrets: WebhookSecretsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  usage_rollups: UsageRollupsTable;
  rollup_state: RollupStateTable;
  invoices: InvoicesTable;
  tenant_data_keys: TenantDataKeysTable;
  credentials: CredentialsTable;
  tenants: TenantsTable;
  tenant_automations: TenantAutomationsTable;
  jobs: JobsTable;
  job_steps: JobStepsTable;
  job_attempts: JobAttemptsTable;
  usage_events: UsageEventsTable;
  usage_event_keys: UsageEventKeysTable;
  provider_events: ProviderEventsTable;
}

export type Tenant = Selectable<TenantsTable>;
export type Job = Selectable<JobsTable>;
export type NewJob = Insertable<JobsTable>;
export type JobUpdate = Updateable<JobsTable>;
export type JobStep = Selectable<JobStepsTable>;
export type UsageEvent = Selectable<UsageEventsTable>;
export type SessionRow = Selectable<SessionsTable>;
export type SessionCall = Selectable<SessionCallsTable>;
export type NewUsageEvent = Insertable<UsageEventsTable>;
