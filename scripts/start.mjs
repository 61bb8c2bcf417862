// `npm start`: sandbox + api + WORKER_PROCESSES workers in the foreground, configured by the
// environment only, supervised:
// - worker i (0-based) gets WORKER_METRICS_PORT + i as its metrics port, so any number of workers
//   can run on one machine (WORKER_METRICS_PORT=0 stays 0 for every worker);
// - a child that exits on its own is restarted after a backoff (1 s, doubling to at most 30 s; a
//   child that had run for CRASH_WINDOW_MS starts again from 1 s) while the others keep running;
// - a child that exits CRASH_LOOP_EXITS times within CRASH_WINDOW_MS is crash-looping: everything
//   is stopped and the supervisor exits 1, saying which child and why;
// - only SIGTERM/SIGINT stop everything: each child gets SIGTERM (graceful shutdown) and the
//   supervisor exits 0 when every child stopped cleanly.
import { openSync, closeSync } from 'node:fs';
import { spawnApp, log, ensureSupportedNode } from './lib.mjs';

export const CRASH_LOOP_EXITS = 5;
export const CRASH_WINDOW_MS = 60_000;
export const MAX_BACKOFF_MS = 30_000;
// START_BACKOFF_MS: the first restart delay (default 1000 ms); tests shorten it.
const FIRST_BACKOFF_MS = Number(process.env.START_BACKOFF_MS ?? 1000);

/** The metrics port of worker `index` (0-based): the base plus the index; 0 (no fixed port) stays 0. */
export function workerMetricsPort(base, index) {
  const n = Number(base);
  if (!Number.isInteger(n) || n === 0) return String(base);
  return String(n + index);
}

/** The delay before the restart following `failures` consecutive unexpected exits (1, 2, 3…). */
export function restartDelayMs(failures, first = FIRST_BACKOFF_MS) {
  return Math.min(MAX_BACKOFF_MS, first * 2 ** Math.max(0, failures - 1));
}

/**
 * Starts and supervises every process. `env` is added to this process's environment for all
 * children; `opts`: `source`/`watch` (see spawnApp), `logFile` (children's stdout/stderr appended
 * there instead of this terminal), `announce` (log each start with its pid; default true).
 * Returns `stop(signal)`, `done` (resolves to the exit code for this process) and `processes()`.
 */
export function startAll(env = {}, opts = {}) {
  const merged = { ...process.env, ...env };
  const workers = Number(merged.WORKER_PROCESSES ?? 1);
  const basePort = merged.WORKER_METRICS_PORT ?? '9464';
  const specs = [
    { name: 'sandbox', app: 'sandbox', env: {} },
    { name: 'api', app: 'api', env: {} },
    ...Array.from({ length: workers }, (_, i) => ({
      name: `worker-${i + 1}`,
      app: 'worker',
      env: { WORKER_METRICS_PORT: workerMetricsPort(basePort, i) },
    })),
  ].map((s) => ({ ...s, child: undefined, timer: undefined, exits: [], failures: 0, startedAt: 0 }));

  const fd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
  const stdio = fd === undefined ? opts.stdio : ['ignore', fd, fd];
  let stopping = false;
  let failure;
  let badStops = 0;
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));

  function launch(s) {
    s.startedAt = Date.now();
    s.child = spawnApp(s.app, { ...env, ...s.env }, { ...opts, stdio });
    const port = s.app === 'worker' && s.env.WORKER_METRICS_PORT !== '0' ? `, metrics port ${s.env.WORKER_METRICS_PORT}` : '';
    if (opts.announce !== false || s.exits.length) log(`${s.name} started (pid ${s.child.pid}${port})`);
    const child = s.child;
    // A child that could not be spawned emits 'error' and no 'exit': it counts as an exit.
    child.on('error', (err) => {
      log(`${s.name}: ${err.message}`);
      if (child.pid === undefined) onExit(s, child, -1, null);
    });
    child.on('exit', (code, signal) => onExit(s, child, code, signal));
  }

  function onExit(s, child, code, signal) {
    if (s.child === child) s.child = undefined;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (stopping) {
      if (code !== 0) {
        badStops++;
        log(`${s.name} did not stop cleanly (${how})`);
      }
      return finishIfIdle();
    }
    const now = Date.now();
    s.failures = now - s.startedAt >= CRASH_WINDOW_MS ? 1 : s.failures + 1;
    s.exits = [...s.exits.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (s.exits.length >= CRASH_LOOP_EXITS) {
      failure = `${s.name} exited ${s.exits.length} times within ${CRASH_WINDOW_MS / 1000} s (last: ${how}): it is crash-looping, so everything stops. Its own log lines above say why it exits.`;
      log(failure);
      return stop('SIGTERM');
    }
    const delay = restartDelayMs(s.failures);
    log(
      `${s.name} exited unexpectedly (${how}); restarting it in ${delay / 1000} s (exit ${s.exits.length} of ${CRASH_LOOP_EXITS} allowed in ${CRASH_WINDOW_MS / 1000} s); the other processes keep running`,
    );
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (!stopping) launch(s);
    }, delay);
  }

  function finishIfIdle() {
    if (specs.some((s) => s.child)) return;
    if (fd !== undefined) closeSync(fd);
    resolveDone(failure || badStops ? 1 : 0);
  }

  function stop(signal = 'SIGTERM') {
    if (stopping) return;
    stopping = true;
    for (const s of specs) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
      if (s.child && s.child.exitCode === null && s.child.signalCode === null) s.child.kill(signal);
    }
    finishIfIdle();
  }

  for (const s of specs) launch(s);
  return {
    stop,
    done,
    /** Each process's name, current pid (undefined while waiting to restart) and metrics port. */
    processes: () => specs.map((s) => ({ name: s.name, pid: s.child?.pid, metricsPort: s.env.WORKER_METRICS_PORT })),
    failure: () => failure,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await ensureSupportedNode('npm start');
  // `npm run dev` (--watch): from source, each process restarting when its code changes.
  // --source: from source without watching, even where built bundles exist.
  const watch = process.argv.includes('--watch');
  const source = watch || process.argv.includes('--source');
  const sup = startAll({}, { source, watch });
  // The same signal can arrive twice (from a terminal's process group and from the Node 20 parent that relays it).
  let signalled = false;
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      if (!signalled) log(`${sig}: stopping every process…`);
      signalled = true;
      sup.stop('SIGTERM');
    });
  }
  const code = await sup.done;
  if (sup.failure()) process.stderr.write(`npm start: exiting 1: ${sup.failure()}\n`);
  else if (code === 0) log('every process stopped cleanly');
  process.exit(code);
}
