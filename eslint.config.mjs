// Lint rules that keep the layout honest (run by `npm test` through `npm run lint`). Formatting and
// style are not linted here; type errors are tsc's.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createNodeResolver } from 'eslint-plugin-import-x';

const APPS = ['@agents/api', '@agents/worker', '@agents/sandbox', '@agents/model-sandbox', '@agents/bench'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'test-artifacts/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
      // The workspace's own packages: followed by no-cycle like relative imports.
      'import-x/internal-regex': '^@agents/',
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A type-only import says so: transpilers then never guess what to drop (verbatimModuleSyntax).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // Modules that import each other (directly or round a loop) have no order that works.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
    },
  },
  {
    // Packages sit under the apps: their code never imports one (nor reaches into apps/ by path).
    // Their tests may start the sandbox app in process: it stands for the providers, a process boundary.
    files: ['packages/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: APPS.map((name) => ({ name, message: 'packages never import apps' })),
          patterns: [{ group: ['**/apps/**'], message: 'packages never import apps' }],
        },
      ],
    },
  },
);
