// Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (playwright-core
// drives it; no browser download). Installs it with apt-get when missing and running as root;
// otherwise exits non-zero with what to do, so the browser test fails loudly instead of skipping.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    throw new Error(`${CHROMIUM} is missing and this is not root: run "sudo apt-get update && sudo apt-get install -y chromium".`);
  }
  console.log('[ensure-chromium] installing Debian chromium…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status}); install chromium by hand.`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get finished but ${CHROMIUM} is still missing.`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureChromium();
    console.log(`[ensure-chromium] ${CHROMIUM} present`);
  } catch (err) {
    console.error(`[ensure-chromium] ${err.message}`);
    process.exit(1);
  }
}
