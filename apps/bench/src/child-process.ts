import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');

/** Child processes that exited without being stopped by us, since the process started (drills report them). */
export const unexpectedExits: string[] = [];

/** Every child still running when this process exits is killed, so an interrupted drill leaves nothing behind. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Registers a child for the exit-time cleanup (throwaway servers use it too). */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

export interface ManagedChild {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The last 4 kB of stderr, for a failure message. */
  stderr(): string;
  alive(): boolean;
  /** Resolves when the process has printed a line matching `re` (e.g. its "started" log line). */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<void>;
  stop(signal: NodeJS.Signals): Promise<void>;
}

/**
 * An entry point in its own Node process. A built bundle (`.js`, e.g. apps/api/dist/main.js, what
 * ships; see bundles.ts) runs under plain Node; a TypeScript source (`.ts`, what the drills run) runs
 * under Node itself with tsx as a loader (the tsx CLI would run it in a grandchild that a SIGKILL
 * would leave behind). `nodeArgs` go to Node itself (e.g. `--cpu-prof`, which NODE_OPTIONS does not
 * accept). The child's environment is exactly `env` plus this process's PATH.
 */
export function spawnEntry(entry: string, env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): ManagedChild {
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const proc = spawn(process.execPath, [...nodeArgs, ...loader, entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(proc);
  // stderr and the pino log lines on stdout, last 4 kB: what a dead process said last.
  let err = '';
  const seen: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const onData = (d: Buffer) => {
    const text = d.toString();
    err = (err + text).slice(-4000);
    for (const w of [...waiters]) {
      if (w.re.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    if (seen.length < 50) seen.push(text.slice(0, 300));
  };
  let stderrTail = '';
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-1500);
    onData(d);
  });
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  let stopping = false;
  proc.on('exit', (code, signal) => {
    // An exit nobody asked for is a finding: remember it with the process's last words.
    if (!stopping)
      unexpectedExits.push(
        `${entry} pid ${proc.pid} exited (${code ?? signal}): ${stderrTail.trim() || err.trim().split('\n').slice(-3).join(' | ').slice(0, 500)}`,
      );
  });
  return {
    proc,
    pid: proc.pid!,
    stderr: () => err,
    alive,
    waitForOutput(re, timeoutMs) {
      if (seen.some((t) => re.test(t))) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${entry} pid ${proc.pid} did not print ${re} within ${timeoutMs} ms: ${err.slice(-500)}`)), timeoutMs);
        waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    async stop(signal) {
      stopping = true;
      if (!alive()) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      await exited;
    },
  };
}
