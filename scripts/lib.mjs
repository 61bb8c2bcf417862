// Shared helpers of the entry-point scripts (plain Node, no dependencies: they run before install).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PNPM = ['-y', 'pnpm@12.4.2'];

/** The oldest Node major the project supports (package.json engines) and the one it fetches when the machine's is older. */
export const MIN_NODE_MAJOR = 22;
export const FETCHED_NODE = 'node@24';
/** Set in the environment of a re-executed entry point, so it never re-executes itself again. */
export const REEXEC_ENV = 'AGENTS_NODE_REEXEC';

/**
 * Makes the entry point run on a supported Node: returns at once on Node >= 22; on an older Node
 * (Node 20 is end-of-life) it says so and runs the same script with the same arguments under Node 24
 * obtained as the `node` package (`npx -y node@24`, cached after the first time), forwarding
 * SIGTERM/SIGINT to it, and exits with its exit code: the returned promise then never settles.
 * Where REEXEC_ENV is already set (a re-executed run, or a caller opting out) it warns and continues.
 */
export function ensureSupportedNode(what) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return Promise.resolve();
  if (process.env[REEXEC_ENV]) {
    log(`${what}: running on Node ${process.version}, older than ${MIN_NODE_MAJOR} (${REEXEC_ENV} is set, so not re-running under ${FETCHED_NODE})`);
    return Promise.resolve();
  }
  log(
    `${what}: this machine has Node ${process.version}; the project needs Node >= ${MIN_NODE_MAJOR}, so it re-runs itself under Node 24 (npx -y ${FETCHED_NODE}; downloaded once, then cached)…`,
  );
  // npx only finds (or installs) the binary; the script then runs as a direct child, so signals
  // reach it without passing through npm.
  const found = spawnSync('npx', ['-y', FETCHED_NODE, '-p', 'process.execPath'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, npm_config_yes: 'true' },
  });
  const node24 = found.status === 0 ? found.stdout.trim().split('\n').pop() : '';
  if (!node24 || !existsSync(node24)) {
    process.stderr.write(
      `${what}: could not obtain Node 24 with npx -y ${FETCHED_NODE}.\n  Install Node ${MIN_NODE_MAJOR}+ (24 LTS recommended) and run it again.\n`,
    );
    process.exit(1);
  }
  const child = spawn(node24, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
    // Its directory first on PATH: tools the script starts by name (`node`, npm's bin shims) get Node 24 too.
    env: { ...process.env, [REEXEC_ENV]: '1', PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}` },
  });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return new Promise(() => {});
}

export function log(msg) {
  process.stdout.write(`\x1b[36m›\x1b[0m ${msg}\n`);
}

/** Installs dependencies when node_modules is missing or older than the lockfile. */
export function ensureDependencies() {
  const marker = path.join(ROOT, 'node_modules', '.modules.yaml');
  const lock = path.join(ROOT, 'pnpm-lock.yaml');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing dependencies (pnpm 12.4.2, frozen lockfile)…');
  const r = spawnSync('npx', [...PNPM, 'install', '--frozen-lockfile'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) throw new Error('dependency install failed');
}

export function canConnect(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitPort(port, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await canConnect(port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Redis on 6379 and Postgres on 5432: reuse running ones, else start locally installed ones,
 * else explain exactly how to get them.
 */
export async function ensureServices() {
  if (!(await canConnect(6379))) {
    if (has('redis-server')) {
      log('starting the local redis-server on 127.0.0.1:6379…');
      spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], { stdio: 'inherit' });
    }
    if (!(await waitPort(6379, 10_000))) {
      throw new Error(
        'Redis is not reachable on 127.0.0.1:6379 and no local redis-server could be started.\n  Start one with: docker compose -f infra/docker-compose.yml up -d redis',
      );
    }
  }
  if (!(await canConnect(5432))) {
    const clusters = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
    if (clusters.length && has('pg_ctlcluster')) {
      log('starting the local PostgreSQL cluster on 127.0.0.1:5432…');
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', clusters[0], 'main', 'start'], { stdio: 'inherit' });
    }
    if (!(await waitPort(5432, 20_000))) {
      throw new Error(
        'PostgreSQL is not reachable on 127.0.0.1:5432 and no local cluster could be started.\n  Start one with: docker compose -f infra/docker-compose.yml up -d postgres',
      );
    }
  }
}

export function bin(name) {
  return path.join(ROOT, 'node_modules', '.bin', name);
}

/** Runs a TypeScript entry point: the built bundle when present, else the source through tsx (`watch`: restart on change). */
export function spawnApp(app, env, opts = {}) {
  const built = path.join(ROOT, 'apps', app, 'dist', 'main.js');
  const useBuilt = !opts.source && existsSync(built);
  const main = path.join(ROOT, 'apps', app, 'src', 'main.ts');
  // From source without watching: node itself with tsx's loader, not the tsx CLI. The CLI relays a
  // SIGTERM and SIGKILLs the child unless it acknowledges within 30 ms, which a busy worker missed
  // (exit 143, no graceful shutdown). `tsx watch` is kept for --watch, where restarts are the point.
  const [cmd, args] = useBuilt
    ? [process.execPath, ['--enable-source-maps', built]]
    : opts.watch
      ? [bin('tsx'), ['watch', main]]
      : [process.execPath, ['--import', 'tsx', main]];
  return spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: opts.stdio ?? 'inherit' });
}
