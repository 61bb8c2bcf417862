import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { track } from './child-process';
import { sparePort, waitPort } from '@agents/testkit';

export interface ThrowawayRedis {
  url: string;
  port: number;
  /** The server's process id while it runs (for CPU accounting). */
  pid(): number | undefined;
  /** Shuts the server down (SIGTERM: AOF is fsynced) and waits until the port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (the AOF is replayed). */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  destroy(): Promise<void>;
}

/**
 * A private redis-server on a spare loopback port with AOF on and `noeviction`, as production
 * runs it, so a drill can stop and restart it without disturbing the machine's Redis.
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await sparePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-redis-'));
  let child: ChildProcess | undefined;
  async function start() {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    track(child);
    await waitPort(port, true);
  }
  async function stop() {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await exited;
    child = undefined;
  }
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
