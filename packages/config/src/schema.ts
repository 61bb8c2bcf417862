import { z } from 'zod';
import { redisUrlProblem } from './redis-url';

/** Values that make a laptop run work with zero set-up. Each is refused when NODE_ENV=production. */
export const DEV_OPERATOR_API_KEY = 'op_dev_insecure_operator_key_change_me';
/** base64 of 32 bytes; only for local runs. */
export const DEV_VAULT_MASTER_KEY = 'ZGV2LW9ubHktdmF1bHQtbWFzdGVyLWtleS0zMmJ5dGU=';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
/** A TCP port; 0 lets the OS pick one. */
const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);

/**
 * The whole environment surface of every process (API.md "Running it" plus operational knobs).
 * Units are in the names. Parsed once in each app's main.ts and passed down.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: port(3000),
  DATABASE_URL: z.string().url().default('postgres://root@127.0.0.1:5432/agents'),
  DATABASE_POOL_MAX: int(10, 1),
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((v, ctx) => {
      const problem = redisUrlProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /** Namespace of every Redis key we own; tests give each file its own. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,32}$/)
    .default('agents'),
  OPERATOR_API_KEY: z.string().min(16).optional(),
  VAULT_MASTER_KEY: z.string().min(1).optional(),
  SANDBOX_PORT: port(4010),
  SANDBOX_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  /**
   * Comma list of the model names a job may ask for in its `model` field (anything else is 400
   * model_not_allowed: the name goes to the provider verbatim and is billed to the operator).
   * OPENAI_MODEL is always allowed. Unset: only OPENAI_MODEL.
   */
  OPENAI_ALLOWED_MODELS: z.string().optional(),
  /** Per-turn delay of the scripted model; benchmarks use it to give jobs a known duration. */
  MODEL_LATENCY_MS: int(0, 0),
  /** Operator's model rate limit, shared by every worker process (calls per minute); 0 = unlimited. */
  MODEL_CALLS_PER_MINUTE: int(0, 0),
  WORKER_SLOTS: int(50, 1),
  WORKER_PROCESSES: int(1, 1),
  /**
   * Headroom per worker process: at most this many free slots kept for other tenants announced (a
   * job enqueued, or one ended whose slot went to another tenant) within FAIR_RESERVE_WINDOW_MS that
   * hold no slot there or have no backlog there, plus one for a tenant not seen yet while there are
   * any, so their next job starts without waiting for a busy tenant's job to end; the tenant holding
   * the most slots may not take them. Unset: a quarter of WORKER_SLOTS (rounded down); 0 turns it off; must
   * be below WORKER_SLOTS. The fairness benchmark measures what it buys and costs (docs/benchmarks.md).
   */
  WORKER_RESERVED_SLOTS: z.coerce.number().int().min(0).optional(),
  /** How long a tenant's announcement keeps headroom reserved for it (ms); a tenant alone uses every slot once this has passed. */
  FAIR_RESERVE_WINDOW_MS: int(10_000, 100),
  /** BullMQ lock duration for a running job; renewed at half this period while the job runs. */
  JOB_LOCK_MS: int(30_000, 1000),
  /** How often a worker looks for jobs whose worker died (BullMQ stalled check). */
  STALLED_CHECK_MS: int(30_000, 500),
  JOB_ATTEMPTS: int(3, 1),
  JOB_TIMEOUT_MS: int(300_000, 100),
  /** Idle time after which a /v1/sessions session expires (ms); each call extends it, never past 24 h after creation. */
  SESSION_IDLE_MS: int(1_800_000, 100),
  /** Per-job cap on model tokens (input + output, summed over turns); 0 = no cap. */
  JOB_TOKEN_BUDGET: int(500_000, 0),
  RECONCILE_EVERY_MS: int(15_000, 100),
  /** A committed job row younger than this is not yet considered lost by the reconciler. */
  RECONCILE_GRACE_MS: int(5_000, 0),
  BILLING_ROLLUP_EVERY_MS: int(60_000, 100),
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h,10h'),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.optional(),
  SHUTDOWN_GRACE_MS: int(25_000, 0),
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Distinct tenant label values per metric; tenants past it are counted under tenant="_other". */
  METRICS_MAX_TENANT_LABELS: int(200, 1),
  /** Port of a worker process's own /metrics endpoint; 0 disables it. `npm start` gives its worker i (0-based, of WORKER_PROCESSES) this port + i; 0 stays 0. */
  WORKER_METRICS_PORT: port(9464),
  /** How often Bull Board re-reads the tenants table to pick up new tenant queues (ms). */
  BULL_BOARD_REFRESH_MS: int(30_000, 1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
