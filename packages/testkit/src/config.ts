import { loadConfig } from '@agents/config';
import type { Config } from '@agents/config';
import { TEST_REDIS_URL } from './redis';

export const TEST_OPERATOR_KEY = 'op_test_operator_key_0123456789abcdef';

/** A Config as main.ts would build it, for a test's own database, Redis prefix and sandbox. */
export function testConfig(overrides: Record<string, string | undefined>): Config {
  return loadConfig({
    NODE_ENV: 'test',
    OPERATOR_API_KEY: TEST_OPERATOR_KEY,
    LOG_LEVEL: 'silent',
    WORKER_SLOTS: '8',
    JOB_LOCK_MS: '5000',
    STALLED_CHECK_MS: '2000',
    RECONCILE_EVERY_MS: '500',
    RECONCILE_GRACE_MS: '300',
    WEBHOOK_RETRY_SCHEDULE: '1s,2s,4s',
    // No fixed metrics port: test files start workers in parallel (startWorker's metricsPort overrides).
    WORKER_METRICS_PORT: '0',
    REDIS_URL: TEST_REDIS_URL,
    ...overrides,
  });
}

/** The environment a child process needs to build the same Config (for spawned workers). */
export function configEnv(config: Config): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    REDIS_PREFIX: config.redisPrefix,
    OPERATOR_API_KEY: config.operatorApiKey,
    VAULT_MASTER_KEY: config.vaultMasterKey,
    SANDBOX_URL: config.sandboxUrl,
    LOG_LEVEL: config.logLevel,
    WORKER_SLOTS: String(config.workerSlots),
    WORKER_RESERVED_SLOTS: String(config.workerReservedSlots),
    FAIR_RESERVE_WINDOW_MS: String(config.fairReserveWindowMs),
    JOB_LOCK_MS: String(config.jobLockMs),
    STALLED_CHECK_MS: String(config.stalledCheckMs),
    RECONCILE_EVERY_MS: String(config.reconcileEveryMs),
    RECONCILE_GRACE_MS: String(config.reconcileGraceMs),
    JOB_TIMEOUT_MS: String(config.jobTimeoutMs),
    JOB_ATTEMPTS: String(config.jobAttempts),
    WEBHOOK_RETRY_SCHEDULE: config.webhookRetrySchedule,
    MODEL_LATENCY_MS: String(config.modelLatencyMs),
    WORKER_METRICS_PORT: String(config.workerMetricsPort),
    SHUTDOWN_GRACE_MS: String(config.shutdownGraceMs),
  };
}
