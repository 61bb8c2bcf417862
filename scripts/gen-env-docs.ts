// Regenerates the environment table in README.md ("Operating it") from the config schema.
// Usage: npx tsx scripts/gen-env-docs.ts   (packages/config/test/env-docs.test.ts fails when it is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withEnvTable } from '@agents/config';

const ROOT = path.resolve(__dirname, '..');
const readmePath = path.join(ROOT, 'README.md');
const schemaSource = readFileSync(path.join(ROOT, 'packages/config/src/schema.ts'), 'utf8');
const before = readFileSync(readmePath, 'utf8');
const after = withEnvTable(before, schemaSource);
if (after !== before) writeFileSync(readmePath, after);
console.log(after === before ? 'README env table is up to date' : 'README env table regenerated');
