import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envDocs, envSchema, withEnvTable } from '../src';

const ROOT = path.resolve(__dirname, '../../..');
const schemaSource = readFileSync(path.join(ROOT, 'packages/config/src/schema.ts'), 'utf8');

test('every environment variable in the schema has a meaning', () => {
  const docs = envDocs(schemaSource);
  expect(docs.map((d) => d.name)).toEqual(Object.keys(envSchema.shape));
  expect(docs.filter((d) => !d.meaning).map((d) => d.name)).toEqual([]);
});

test('the README env table is generated from the schema and up to date (run: npx tsx scripts/gen-env-docs.ts)', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  expect(withEnvTable(readme, schemaSource)).toBe(readme);
});

test('defaults come from the schema; secrets never show a value', () => {
  const byName = Object.fromEntries(envDocs(schemaSource).map((d) => [d.name, d]));
  expect(byName.WORKER_METRICS_PORT!.default).toBe('`9464`');
  expect(byName.METRICS_MAX_TENANT_LABELS!.default).toBe('`200`');
  expect(byName.OPERATOR_API_KEY!.default).not.toMatch(/op_dev/);
  expect(byName.VAULT_MASTER_KEY!.default).not.toMatch(/ZGV2/);
});
