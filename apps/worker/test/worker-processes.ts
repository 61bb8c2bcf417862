import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '@agents/config';
import { configEnv, testConfig } from '@agents/testkit';

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
