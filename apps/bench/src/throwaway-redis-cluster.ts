import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { canConnect } from '@agents/testkit';
import { ROOT } from './child-process';

const run = promisify(execFile);

export interface ThrowawayRedisCluster {
  /** REDIS_URL of the cluster (`redis+cluster://` with the three first nodes as seeds). */
  url: string;
  /** The six nodes' ports (three masters and their replicas when formed). */
  ports: number[];
  /** Process ids of the nodes that run (for CPU accounting and killing). */
  pids(): Promise<number[]>;
  /** Ports of the nodes that are masters now, as the cluster sees it. */
  masterPorts(): Promise<number[]>;
  /** The node on this port: its role, and whether every node that runs says `cluster_state:ok`. */
  roleOf(port: number): Promise<'master' | 'slave' | 'down'>;
  clusterOk(): Promise<boolean>;
  /** Port of the master that serves this key's slot now. */
  ownerOf(key: string): Promise<number | undefined>;
  /** SIGKILLs the node on this port (no shutdown, no goodbye to the cluster: a crash). */
  kill(port: number): Promise<void>;
  /** Shuts every node down and removes the state directory. */
  destroy(): Promise<void>;
}

const SCRIPT = path.join(ROOT, 'scripts', 'redis-cluster.mjs');

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const r = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 2000 });
    // An error reply (MOVED…) comes on either stream, depending on the redis-cli version.
    return r.stdout + r.stderr;
  } catch {
    // Not answering (the node is down): nothing.
    return '';
  }
}

/** Six consecutive free ports whose cluster-bus ports (port + 10000) are free too. */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 9_000);
    const ports = [0, 1, 2, 3, 4, 5].flatMap((i) => [base + i, base + i + 10_000]);
    const used = await Promise.all(ports.map((p) => canConnect(p, 200)));
    if (!used.some(Boolean)) return base;
  }
  throw new Error('no free range of six ports for a throwaway Redis Cluster');
}

/**
 * A private 3-master + 3-replica Redis Cluster on spare loopback ports, started and stopped by
 * scripts/redis-cluster.mjs (what `.ci/run` and developers use), so a drill can crash its masters
 * without touching anyone else's Redis.
 */
export async function startThrowawayRedisCluster(): Promise<ThrowawayRedisCluster> {
  const base = await freeBase();
  const env = { ...process.env, CLUSTER_BASE_PORT: String(base) };
  const { stdout } = await run(process.execPath, [SCRIPT, 'start'], { env });
  const url = stdout.trim().split('\n').pop()!;
  const ports = [0, 1, 2, 3, 4, 5].map((i) => base + i);
  const pidOf = async (port: number) => Number(/process_id:(\d+)/.exec(await cli(port, 'info', 'server'))?.[1] ?? 0);
  const roleOf = async (port: number) => {
    const role = /role:(\w+)/.exec(await cli(port, 'info', 'replication'))?.[1];
    return role === 'master' || role === 'slave' ? role : 'down';
  };
  return {
    url,
    ports,
    async pids() {
      return (await Promise.all(ports.map(pidOf))).filter((p) => p > 0);
    },
    async masterPorts() {
      const roles = await Promise.all(ports.map(roleOf));
      return ports.filter((_, i) => roles[i] === 'master');
    },
    roleOf,
    async clusterOk() {
      const infos = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info')));
      const up = infos.filter((i) => i);
      return up.length > 0 && up.every((i) => /cluster_state:ok/.test(i));
    },
    async ownerOf(key) {
      // Every master but the owner answers MOVED (redis-cli without -c does not follow it).
      for (const port of ports) {
        if ((await roleOf(port)) !== 'master') continue;
        if (!/MOVED|ASK/.test(await cli(port, 'exists', key))) return port;
      }
      return undefined;
    },
    async kill(port) {
      const pid = await pidOf(port);
      if (pid) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50 && (await canConnect(port, 200)); i++) await new Promise((r) => setTimeout(r, 100));
    },
    async destroy() {
      await run(process.execPath, [SCRIPT, 'stop'], { env });
    },
  };
}
