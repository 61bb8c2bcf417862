// `npm test`: the whole suite on a fresh machine. Installs what is missing, makes sure Redis and
// Postgres answer, type-checks, runs jest over the workspace, and ends with "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, bin, ensureDependencies, ensureServices, log } from './lib.mjs';
import { ensureChromium } from './ensure-chromium.mjs';

ensureDependencies();
await ensureServices();
// The Bull Board browser test drives Debian's Chromium (installed here when missing).
ensureChromium();

const extra = process.argv.slice(2);
let failedChecks = 0;
if (!extra.length) {
  log('type-checking the workspace…');
  const tsc = spawnSync(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) failedChecks++;
}

const outDir = path.join(ROOT, 'test-artifacts');
mkdirSync(outDir, { recursive: true });
const report = path.join(outDir, 'jest-report.json');
log('running jest…');
const jest = spawnSync(bin('jest'), ['--maxWorkers=2', '--json', `--outputFile=${report}`, ...extra], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});

let passed = 0;
let failed = failedChecks;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  skipped = r.numPendingTests + r.numTodoTests;
} catch {
  failed += 1;
}
if (jest.status !== 0 && failed === 0) failed = 1;
if (failedChecks) console.log(`type-check failed (${failedChecks})`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && jest.status === 0 ? 0 : 1);
