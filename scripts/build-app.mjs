// Bundles one app (the current directory) into dist/main.js: our workspace packages (TypeScript
// source) are compiled in; third-party packages stay external. pnpm gives each package only its own
// dependencies, so an external is recorded as the absolute path it resolves to from the importing
// package: the bundle runs inside the checkout (or image) it was built in, with its node_modules.
import { build } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';

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
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  outfile: 'dist/main.js',
  sourcemap: true,
  plugins: [workspaceOnly],
  logLevel: 'warning',
});
