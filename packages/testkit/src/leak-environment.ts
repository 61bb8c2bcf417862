import net from 'node:net';
import { ChildProcess } from 'node:child_process';
import { TestEnvironment } from 'jest-environment-node';

/** Ports of the services tests talk to; an open client socket to one after a file ends is a leak. */
const SERVICE_PORTS = new Set([6379, 5432]);

function describeLeaks(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const leaks: string[] = [];
  for (const h of handles) {
    if (h instanceof net.Socket && !h.destroyed && h.remotePort !== undefined && SERVICE_PORTS.has(h.remotePort)) {
      leaks.push(`open connection to 127.0.0.1:${h.remotePort}`);
    } else if (h instanceof net.Server && h.listening) {
      const a = h.address();
      leaks.push(`listening server on ${typeof a === 'string' ? a : `port ${a?.port}`}`);
    } else if (h instanceof ChildProcess && h.exitCode === null && h.signalCode === null) {
      leaks.push(`running child process ${h.pid} (${h.spawnfile})`);
    }
  }
  return leaks;
}

/**
 * The node test environment plus a leak check when a test file ends: a Redis or Postgres
 * connection, a listening server or a child process left behind fails the file, naming what
 * leaked. Connections get a moment to finish closing first.
 */
// jest loads an environment through its default export (the one place this repo uses one).
export default class LeakCheckingEnvironment extends TestEnvironment {
  override async teardown(): Promise<void> {
    let leaks = describeLeaks();
    for (let i = 0; i < 40 && leaks.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      leaks = describeLeaks();
    }
    await super.teardown();
    if (leaks.length) {
      throw new Error(`test file leaked ${leaks.length} resource(s): ${leaks.join('; ')} (close them in afterAll)`);
    }
  }
}
