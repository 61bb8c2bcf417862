import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sparePort, waitPort } from '@agents/testkit';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface ThrowawayPostgres {
  /** Server URL without a database (append `/<name>`). */
  baseUrl: string;
  port: number;
  /** The postmaster's process id (first line of postmaster.pid), for CPU accounting. */
  pid(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Runs a Postgres binary as the `postgres` user when we are root (initdb refuses root). */
function pg(bin: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'runuser' : path.join(PG_BIN, bin);
  const full = asRoot ? ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args] : args;
  execFileSync(cmd, full, { stdio: 'ignore', timeout: 60_000 });
}

/**
 * A private Postgres 15 cluster in a temp directory on a spare loopback port (trust auth,
 * superuser `root`, fsync off: it is thrown away), so a drill can stop and restart it.
 */
export async function startThrowawayPostgres(o: { settings?: string[] } = {}): Promise<ThrowawayPostgres> {
  const port = await sparePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  pg('initdb', ['-D', data, '-U', 'root', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${(o.settings ?? []).map((x) => ` -c ${x}`).join('')}`;
  async function start() {
    pg('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', 'start']);
    await waitPort(port, true);
  }
  async function stop() {
    // Fast shutdown: open connections are terminated, as in a crash of the database host.
    pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    await waitPort(port, false);
  }
  await start();
  let running = true;
  // An interrupted drill must not leave its cluster running.
  process.on('exit', () => {
    if (running) {
      try {
        pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* already down */
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return {
    baseUrl: `postgres://root@127.0.0.1:${port}`,
    port,
    pid: () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async start() {
      await start();
      running = true;
    },
    async stop() {
      await stop();
      running = false;
    },
    async destroy() {
      if (running) await stop().catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
