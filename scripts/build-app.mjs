// Bundles one app (the current directory) into dist/main.js: our workspace packages (TypeScript
// source) are compiled in; third-party packages stay external. pnpm gives each package only its own
// dependencies, so an external is recorded as the absolute path it resolves to from the importing
// package: the bundle runs inside the checkout (or image) it was built in, with its node_modules.
import { build } from 'esbuild';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--outdir <dir>`: build there instead of dist/ (a test builds into a temporary folder).
const outArg = process.argv.indexOf('--outdir');
const OUT = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.resolve('dist');
// `--entry <file>` (repeatable): bundle these instead of src/main.ts, each to dist/<its name>.js (the
// bench bundles its baseline servers and load generators this way, so they run as plain Node too).
const entries = process.argv.flatMap((a, i) => (a === '--entry' ? [process.argv[i + 1]] : []));

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

const workspaceOnly = {
  name: 'externalize-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@agents/')) return undefined;
      if (builtins.has(args.path)) return { path: args.path, external: true };
      const req = createRequire(path.join(args.resolveDir, 'noop.js'));
      return { path: req.resolve(args.path), external: true };
    });
  },
};

await build({
  entryPoints: entries.length > 0 ? entries : ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  outdir: OUT,
  sourcemap: true,
  plugins: [workspaceOnly],
  logLevel: 'warning',
});

// Data files the bundled packages read at run time beside their source, copied next to the bundle
// where the bundle looks for them (DEFAULT_FIXTURES_DIR of @agents/agent: dist/fixtures/scenarios).
// Without them a built worker with no OPENAI_API_KEY (the scripted model) could not start.
const deps = JSON.parse(readFileSync('package.json', 'utf8')).dependencies ?? {};
if ('@agents/agent' in deps) {
  const from = path.join(ROOT, 'packages', 'agent', 'fixtures', 'scenarios');
  const to = path.join(OUT, 'fixtures', 'scenarios');
  if (!existsSync(from)) throw new Error(`scenario fixtures missing at ${from}`);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
