// `npm start`: api + WORKER_PROCESSES workers + sandbox in the foreground, configured by the environment only.
// SIGTERM/SIGINT stop every child gracefully; the supervisor exits 0 when all of them did.
import { spawnApp, log } from './lib.mjs';

export function startAll(env = {}, opts = {}) {
  const workers = Number(process.env.WORKER_PROCESSES ?? env.WORKER_PROCESSES ?? 1);
  const children = [
    ['sandbox', spawnApp('sandbox', env, opts)],
    ['api', spawnApp('api', env, opts)],
    ...Array.from({ length: workers }, (_, i) => [`worker-${i + 1}`, spawnApp('worker', env, opts)]),
  ];
  let stopping = false;
  const exits = children.map(
    ([name, child]) =>
      new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          if (!stopping) {
            log(`${name} exited unexpectedly (${signal ?? code}); stopping everything`);
            stop('SIGTERM');
          } else if (code !== 0) {
            log(`${name} did not stop cleanly (${signal ?? `exit code ${code}`})`);
          }
          resolve(code ?? (signal ? 1 : 0));
        });
      }),
  );
  function stop(signal) {
    if (stopping) return;
    stopping = true;
    for (const [, child] of children) if (child.exitCode === null) child.kill(signal);
  }
  return { children, stop, done: Promise.all(exits) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npm run dev`: from source, each process restarting when its code changes.
  const sup = process.argv.includes('--watch') ? startAll({}, { source: true, watch: true }) : startAll();
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => sup.stop('SIGTERM'));
  const codes = await sup.done;
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}
