/** One jest run over the whole workspace; TypeScript is transpiled by SWC (no type-check here: `npm run typecheck` does that). */
module.exports = {
  // Node environment that fails a test file leaving Redis/Postgres connections, servers or children open.
  testEnvironment: '<rootDir>/packages/testkit/src/leak-environment.ts',
  roots: ['<rootDir>/apps', '<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    // ESM-only dependencies (listed below) compiled to CommonJS for jest's module system; outside
    // jest, Node >= 20.19 require()s them natively (tsx, and the esbuild bundles' externals).
    '^.+\\.js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // node_modules stays untransformed except the ESM-only packages (pnpm's real path is
  // node_modules/.pnpm/<name>@<version>/node_modules/<name>/...).
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?(request-filtering-agent)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
};
