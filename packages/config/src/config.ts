import { envSchema, DEV_OPERATOR_API_KEY, DEV_VAULT_MASTER_KEY } from './schema';

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  port: number;
  databaseUrl: string;
  databasePoolMax: number;
  redisUrl: string;
  redisPrefix: string;
  operatorApiKey: string;
  vaultMasterKey: string;
  sandboxPort: number;
  sandboxUrl: string;
  openai: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    model: string;
    /** Model names a job may name (OPENAI_ALLOWED_MODELS plus OPENAI_MODEL); never empty. */
    allowedModels: string[];
  };
  modelLatencyMs: number;
  modelCallsPerMinute: number;
  workerSlots: number;
  workerProcesses: number;
  /** Free slots per worker process kept for recently announced tenants that hold none there (headroom); 0 = off. */
  workerReservedSlots: number;
  fairReserveWindowMs: number;
  jobLockMs: number;
  stalledCheckMs: number;
  jobAttempts: number;
  jobTimeoutMs: number;
  /** SESSION_IDLE_MS. */
  sessionIdleMs: number;
  /** Model tokens (input + output) one job may spend; 0 = unlimited. */
  jobTokenBudget: number;
  reconcileEveryMs: number;
  reconcileGraceMs: number;
  billingRollupEveryMs: number;
  webhookRetrySchedule: string;
  webhookAllowPrivateNetworks: boolean;
  shutdownGraceMs: number;
  metricsToken: string | undefined;
  metricsMaxTenantLabels: number;
  workerMetricsPort: number;
  bullBoardRefreshMs: number;
  logLevel: string;
  /** Human-readable notes about insecure defaults in use; main.ts logs them once. */
  warnings: string[];
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once. Every problem names the variable and what a valid value looks like;
 * values themselves are never echoed (some are secrets).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset": shells and compose files often export VAR= for optional values.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (see README "Operating it" for the expected format)`));
  }
  const e = parsed.data;
  const prod = e.NODE_ENV === 'production';
  const warnings: string[] = [];
  const problems: string[] = [];
  if (!e.OPERATOR_API_KEY) {
    if (prod) problems.push('OPERATOR_API_KEY: required when NODE_ENV=production (at least 16 characters)');
    else warnings.push('OPERATOR_API_KEY is not set: using the fixed development key; never do this in production');
  }
  if (!e.VAULT_MASTER_KEY) {
    if (prod) problems.push('VAULT_MASTER_KEY: required when NODE_ENV=production (base64 of 32 random bytes: `openssl rand -base64 32`)');
    else warnings.push('VAULT_MASTER_KEY is not set: using the fixed development key; credentials stored now are not protected');
  }
  const workerReservedSlots = e.WORKER_RESERVED_SLOTS ?? Math.floor(e.WORKER_SLOTS / 4);
  if (workerReservedSlots >= e.WORKER_SLOTS) {
    problems.push(`WORKER_RESERVED_SLOTS: must be less than WORKER_SLOTS (${e.WORKER_SLOTS}); 0 turns the headroom off`);
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    operatorApiKey: e.OPERATOR_API_KEY ?? DEV_OPERATOR_API_KEY,
    vaultMasterKey: e.VAULT_MASTER_KEY ?? DEV_VAULT_MASTER_KEY,
    sandboxPort: e.SANDBOX_PORT,
    sandboxUrl: e.SANDBOX_URL ?? `http://127.0.0.1:${e.SANDBOX_PORT}`,
    openai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      model: e.OPENAI_MODEL,
      allowedModels: [
        ...new Set([
          e.OPENAI_MODEL,
          ...(e.OPENAI_ALLOWED_MODELS ?? '')
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean),
        ]),
      ],
    },
    modelLatencyMs: e.MODEL_LATENCY_MS,
    modelCallsPerMinute: e.MODEL_CALLS_PER_MINUTE,
    workerSlots: e.WORKER_SLOTS,
    workerProcesses: e.WORKER_PROCESSES,
    workerReservedSlots,
    fairReserveWindowMs: e.FAIR_RESERVE_WINDOW_MS,
    jobLockMs: e.JOB_LOCK_MS,
    stalledCheckMs: e.STALLED_CHECK_MS,
    jobAttempts: e.JOB_ATTEMPTS,
    jobTimeoutMs: e.JOB_TIMEOUT_MS,
    sessionIdleMs: e.SESSION_IDLE_MS,
    jobTokenBudget: e.JOB_TOKEN_BUDGET,
    reconcileEveryMs: e.RECONCILE_EVERY_MS,
    reconcileGraceMs: e.RECONCILE_GRACE_MS,
    billingRollupEveryMs: e.BILLING_ROLLUP_EVERY_MS,
    webhookRetrySchedule: e.WEBHOOK_RETRY_SCHEDULE,
    webhookAllowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? !prod,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    metricsToken: e.METRICS_TOKEN,
    metricsMaxTenantLabels: e.METRICS_MAX_TENANT_LABELS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    bullBoardRefreshMs: e.BULL_BOARD_REFRESH_MS,
    logLevel: e.LOG_LEVEL,
    warnings,
  };
}

/** For a process entry point: a bad environment prints what to fix (never a stack trace) and exits 1. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
