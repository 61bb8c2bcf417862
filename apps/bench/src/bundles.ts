import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './child-process';

/** The product's apps a benchmark runs, as `npm run build` bundles them (apps/<app>/dist/main.js). */
const APPS = ['api', 'worker', 'sandbox'] as const;
type App = (typeof APPS)[number];

/**
 * The bench's own processes (baseline servers, bare clients, load generators), bundled the same way
 * (apps/bench/dist/<name>.js) so that a baseline runs as plain Node exactly like the product it is
 * compared with, never under the tsx loader.
 */
const HELPERS = ['bare-ingress-main', 'bare-consumer-main', 'bare-mcp-main', 'latency-sandbox-main', 'submitter-main'] as const;
type Helper = (typeof HELPERS)[number];

let built: string | undefined;

/**
 * Builds every bundle a benchmark runs, once per process, at the first call: the product's apps with
 * scripts/build-app.mjs (what `npm run build` runs; < 1 s each) and the bench's helpers with the same
 * script. Building at every benchmark start means a figure never comes from a stale dist/. Returns a
 * line saying what was built (commit, Node version) for the benchmark's report.
 */
export function ensureBundles(): string {
  if (built) return built;
  const script = path.join(ROOT, 'scripts', 'build-app.mjs');
  const t0 = Date.now();
  for (const app of APPS) execFileSync(process.execPath, [script], { cwd: path.join(ROOT, 'apps', app), stdio: 'inherit' });
  execFileSync(process.execPath, [script, ...HELPERS.flatMap((h) => ['--entry', `src/${h}.ts`])], { cwd: path.join(ROOT, 'apps', 'bench'), stdio: 'inherit' });
  let commit = 'unknown commit';
  try {
    commit = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  built = `built bundles (apps/{${APPS.join(',')}}/dist/main.js, bench helpers in apps/bench/dist) of ${commit} in ${Date.now() - t0} ms; plain node ${process.version}, no tsx`;
  return built;
}

/** The entry point of an app: its bundle (after `ensureBundles`) or its TypeScript source (run under tsx). */
export function appEntry(app: App, bundles: boolean): string {
  return bundles ? `apps/${app}/dist/main.js` : `apps/${app}/src/main.ts`;
}

/** The entry point of one of the bench's helper processes, bundled or from source. */
export function helperEntry(helper: Helper, bundles: boolean): string {
  return bundles ? `apps/bench/dist/${helper}.js` : `apps/bench/src/${helper}.ts`;
}

/**
 * For a benchmark that measures a library in its own process (scripts/bench/runtime.ts, rollup.ts):
 * run under tsx (`npx tsx <script>`), it bundles itself with scripts/build-app.mjs into
 * apps/bench/dist/scripts/ and runs that bundle under plain Node with the same arguments, then exits
 * with its code; returns false when this process already is the bundle (the caller then runs).
 */
export function runAsBundle(scriptFile: string): boolean {
  if (!scriptFile.endsWith('.ts')) return false;
  const outdir = path.join(ROOT, 'apps', 'bench', 'dist', 'scripts');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-app.mjs'), '--entry', path.relative(ROOT, scriptFile), '--outdir', outdir], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const bundle = path.join(outdir, `${path.basename(scriptFile, '.ts')}.js`);
  console.log(`running the bundle ${path.relative(ROOT, bundle)} under plain node ${process.version}, no tsx`);
  try {
    execFileSync(process.execPath, [bundle, ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
  } catch (err) {
    process.exit((err as { status?: number }).status ?? 1);
  }
  process.exit(0);
}
