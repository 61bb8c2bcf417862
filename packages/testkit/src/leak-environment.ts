import net from 'node:net';
import { ChildProcess } from 'node:child_process';
import { TestEnvironment } from 'jest-environment-node';

/** Ports of the services tests talk to; an open client socket to one after a file ends is a leak. */
const SERVICE_PORTS = new Set([6379, 5432]);

/**
 * When each client socket was opened (test file, and the test or hook then running), so that a
 * leak names its origin: clients connect on a later tick, so the connect call's stack does not
 * reach the test. This module is loaded once per jest worker process and sockets outlive a test
 * file, so a socket opened late by an earlier file is told apart from one of the file that ends.
 */
const openedAt = new WeakMap<net.Socket, { file: string; during: string }>();
let currentFile = '';
let currentStep = 'file setup';
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function recordingConnect(this: net.Socket, ...args: unknown[]) {
  openedAt.set(this, { file: currentFile, during: currentStep });
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

function describeLeaks(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const leaks: string[] = [];
  for (const h of handles) {
    if (h instanceof net.Socket && !h.destroyed && h.remotePort !== undefined && SERVICE_PORTS.has(h.remotePort)) {
      const origin = openedAt.get(h);
      const from = origin ? ` opened ${origin.file !== currentFile ? `by ${origin.file} ` : ''}after ${origin.during} began` : '';
      leaks.push(`open connection to 127.0.0.1:${h.remotePort}${from}`);
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
 * leaked and, for a connection, where it was opened. Connections get a moment to finish closing first.
 */
// jest loads an environment through its default export (the one place this repo uses one).
export default class LeakCheckingEnvironment extends TestEnvironment {
  private readonly testPath: string;

  constructor(...args: ConstructorParameters<typeof TestEnvironment>) {
    super(...args);
    this.testPath = args[1].testPath;
  }

  override async setup(): Promise<void> {
    currentFile = this.testPath.replace(/^.*?\/(apps|packages)\//, '$1/');
    currentStep = 'file setup';
    await super.setup();
  }

  /** jest-circus's events: which test or hook runs now (for openedAt). */
  handleTestEvent(event: { name: string; test?: { name: string }; hook?: { type: string } }): void {
    if (event.name === 'test_fn_start' && event.test) currentStep = `test "${event.test.name}"`;
    else if (event.name === 'hook_start' && event.hook) currentStep = event.hook.type;
    else if (event.name === 'run_finish') currentStep = 'file teardown';
  }

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
