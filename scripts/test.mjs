// `npm test`: the whole suite on a fresh machine. Installs what is missing, makes sure Redis and
// Postgres answer, type-checks, checks the format (prettier), lints (eslint, knip), runs jest over
// the workspace, and ends with "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, bin, ensureDependencies, ensureServices, ensureSupportedNode, log } from './lib.mjs';
import { ensureChromium } from './ensure-chromium.mjs';

await ensureSupportedNode('npm test');
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
  log('checking the code format (prettier; `npm run format` fixes it)…');
  const format = spawnSync(bin('prettier'), ['--check', '--log-level=warn', '.'], { cwd: ROOT, stdio: 'inherit' });
  if (format.status !== 0) failedChecks++;
  log('linting the workspace (layout rules: eslint.config.mjs)…');
  const lint = spawnSync(bin('eslint'), ['.'], { cwd: ROOT, stdio: 'inherit' });
  if (lint.status !== 0) failedChecks++;
  log('looking for unused files, exports and dependencies (knip.json)…');
  const knip = spawnSync(bin('knip'), [], { cwd: ROOT, stdio: 'inherit' });
  if (knip.status !== 0) failedChecks++;
}

const outDir = path.join(ROOT, 'test-artifacts');
mkdirSync(outDir, { recursive: true });

/**
 * Runs jest once and returns its counts. The suite runs in two passes: everything else two files
 * at a time, then the load/fault drills (apps/bench) one at a time, because they start their
 * own stacks of processes and kill them on a timetable; sharing two cores with other suites made
 * them measure the machine's load instead of the product.
 */
function runJest(name, args) {
  const report = path.join(outDir, `jest-${name}.json`);
  log(`running jest (${name}) on Node ${process.version}…`);
  // Through pnpm's bin shim: it sets NODE_PATH to the hoisted dependencies some test files rely on,
  // and runs the first `node` on PATH, which ensureSupportedNode put first (Node 24 on a re-run).
  const r = spawnSync(bin('jest'), [...args, '--json', `--outputFile=${report}`], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'test' },
  });
  try {
    const j = JSON.parse(readFileSync(report, 'utf8'));
    const failed = j.numFailedTests + j.numRuntimeErrorTestSuites;
    return { passed: j.numPassedTests, failed: failed || (r.status !== 0 ? 1 : 0), skipped: j.numPendingTests + j.numTodoTests };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

const runs = extra.length
  ? [runJest('selected', ['--maxWorkers=2', ...extra])]
  : [runJest('main', ['--maxWorkers=2', '--testPathIgnorePatterns', '/apps/bench/']), runJest('drills', ['--runInBand', 'apps/bench'])];

const passed = runs.reduce((n, r) => n + r.passed, 0);
const failed = failedChecks + runs.reduce((n, r) => n + r.failed, 0);
const skipped = runs.reduce((n, r) => n + r.skipped, 0);
if (failedChecks) console.log(`static checks failed (${failedChecks}): see the type-check and lint output above`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
