/**
 * The model-sandbox's settings from its environment. A pure function of the env object so main.ts
 * is the only place that touches process.env.
 */
export interface ModelSandboxConfig {
  /** MODEL_SANDBOX_PORT, default 4020. */
  port: number;
  /** MODEL_SANDBOX_HOST, default 127.0.0.1 (set 0.0.0.0 inside a container). */
  host: string;
  /** FIXTURES_DIR: scenario fixtures folder; default the agent package's fixtures. */
  fixturesDir: string | undefined;
  /** MODEL_LATENCY_MS: scripted latency per turn, ms; default 0. */
  latencyMs: number;
  /** LOG_LEVEL, default info. */
  logLevel: string;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function intVar(env: Record<string, string | undefined>, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got "${raw}"); unset it to use ${def}`);
  }
  return n;
}

export function parseModelSandboxConfig(env: Record<string, string | undefined>): ModelSandboxConfig {
  const fixturesDir = env.FIXTURES_DIR?.trim();
  return {
    port: intVar(env, 'MODEL_SANDBOX_PORT', 4020, 0, 65535),
    host: env.MODEL_SANDBOX_HOST?.trim() || '127.0.0.1',
    fixturesDir: fixturesDir ? fixturesDir : undefined,
    latencyMs: intVar(env, 'MODEL_LATENCY_MS', 0, 0, 600_000),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
}
