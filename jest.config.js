/** One jest run over the whole workspace; TypeScript is transpiled by SWC (no type-check here: `npm run typecheck` does that). */
module.exports = {
  // Node environment that fails a test file leaving Redis/Postgres connections, servers or children open.
  testEnvironment: '<rootDir>/packages/testkit/src/leak-environment.ts',
  roots: ['<rootDir>/apps', '<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
};
