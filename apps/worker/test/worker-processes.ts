import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '@agents/config';
import { startApi } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { createSandboxServer } from '@agents/sandbox';
import { apiClient, configEnv, createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import { seedTenants, startTestModel } from './agent-helpers';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * The environment of a worker process for a crash test: `configEnv` of a test config with a short
 * lock and stalled check (a dead worker's job is found within ~2-4 s: lock expiry, then two
 * stalled-check passes; a live worker the loaded machine starves still has a second of slack to
 * renew its lock), the model server, a 1 s shutdown grace and no /metrics listener (parallel test
 * files must not compete for its fixed default port).
 */
export function crashTestWorkerEnv(
  base: Record<string, string>,
  modelUrl: string,
  extra: Record<string, string> = {},
): { config: Config; env: Record<string, string> } {
  const config = testConfig({ ...base, JOB_LOCK_MS: '2000', STALLED_CHECK_MS: '1000' });
  const env = {
    PATH: process.env.PATH ?? '',
    ...configEnv(config),
    OPENAI_BASE_URL: modelUrl,
    OPENAI_API_KEY: 'sk-test-dummy-key-for-the-model-sandbox',
    SHUTDOWN_GRACE_MS: '1000',
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
  return { config, env };
}

export function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` and resolves once the process has exited (at once if it already had). */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (!alive(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

/**
 * Worker processes as `npm start` runs them: each its own process, configured by the environment
 * only; Node itself with tsx as a loader (not the tsx CLI, which runs the script in a grandchild that
 * a SIGKILL of the CLI would leave running). A worker that exits with an error prints its last 4 kB
 * of output.
 */
export function workerProcesses() {
  const all: ChildProcess[] = [];
  return {
    all,
    spawn(env: Record<string, string>): ChildProcess {
      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-4000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.on('exit', (code) => {
        if (code) console.error(`worker ${child.pid} exited with ${code}: ${output}`);
      });
      all.push(child);
      return child;
    },
    async killAll(): Promise<void> {
      for (const c of all) await stopProcess(c, 'SIGKILL');
    },
  };
}

/**
 * What a crash test runs beside its worker processes: a fresh database and Redis prefix, the
 * sandbox (options: e.g. `answerDelayMs`), the scripted model over HTTP, an API in this process,
 * the seed's tenants, and the environment `workers.spawn` gives each worker. `close()` stops it
 * all in reverse order of start: the workers first.
 */
export async function startCrashRig(
  label: string,
  opts: { sandbox?: { answerDelayMs?: number }; modelLatencyMs?: number; workerEnv?: Record<string, string> } = {},
) {
  // What has started, stopped in reverse if a later part fails to start: a failed beforeAll leaks nothing.
  const started: (() => Promise<unknown>)[] = [];
  const stopStarted = async () => {
    let failed: unknown;
    for (const stop of [...started].reverse()) await stop().catch((err: unknown) => (failed ??= err));
    if (failed) throw failed;
  };
  try {
    const tdb = await createTestDatabase(label);
    const prefix = testRedisPrefix();
    started.push(
      () => tdb.close(),
      () => flushPrefix(prefix),
    );
    const sandbox = await createSandboxServer({ port: 0, logger: silentLogger(), ...opts.sandbox });
    started.push(() => sandbox.close());
    const model = await startTestModel(opts.modelLatencyMs ? { latencyMs: opts.modelLatencyMs } : {});
    started.push(() => model.server.close());
    const worker = crashTestWorkerEnv({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: sandbox.url }, model.server.url, opts.workerEnv);
    const api = await startApi(worker.config, silentLogger(), { port: 0 });
    started.push(() => api.close());
    await seedTenants(apiClient(api.url));
    const workers = workerProcesses();
    started.push(() => workers.killAll());
    return { tdb, sandbox, model, api, env: worker.env, workers, close: stopStarted };
  } catch (err) {
    await stopStarted().catch(() => undefined);
    throw err;
  }
}

export type CrashRig = Awaited<ReturnType<typeof startCrashRig>>;
