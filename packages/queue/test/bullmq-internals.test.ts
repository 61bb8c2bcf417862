/**
 * bullmq-internals.ts was checked against one bullmq version. Another installed version (a lockfile
 * refresh, a loosened pin) must stop the suite here, before a renamed key or a dropped protected
 * method shows up as lost jobs in production.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RedisQueueBackend, Worker } from 'bullmq';
import { BULLMQ_VERSION } from '../src/bullmq-internals';

test('the installed bullmq is the version bullmq-internals.ts was written against, and the pin names it', () => {
  const installed = (JSON.parse(readFileSync(require.resolve('bullmq/package.json', { paths: [path.join(__dirname, '..')] }), 'utf8')) as { version: string })
    .version;
  const pinned = (JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.bullmq;
  const header = readFileSync(path.join(__dirname, '../src/bullmq-internals.ts'), 'utf8').slice(0, 400);
  if (installed !== BULLMQ_VERSION) {
    throw new Error(
      `bullmq ${installed} is installed but src/bullmq-internals.ts was checked against ${BULLMQ_VERSION}: re-check every item in it against the new version, then bump BULLMQ_VERSION and the package.json pin together`,
    );
  }
  expect(pinned).toBe(BULLMQ_VERSION);
  expect(header).toContain(`bullmq ${BULLMQ_VERSION}`);
});

test('the protected and backend methods it calls exist in the installed bullmq', () => {
  const worker = Worker.prototype as unknown as Record<string, unknown>;
  const backend = RedisQueueBackend.prototype as unknown as Record<string, unknown>;
  for (const [name, fn] of [
    ['Worker#nextJobFromJobData', worker.nextJobFromJobData],
    ['Worker#startStalledCheckTimer', worker.startStalledCheckTimer],
    ['RedisQueueBackend#addJobToTransaction', backend.addJobToTransaction],
    ['RedisQueueBackend#execCommand', backend.execCommand],
  ] as const) {
    expect([name, typeof fn]).toEqual([name, 'function']);
  }
});
