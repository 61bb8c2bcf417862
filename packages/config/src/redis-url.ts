/**
 * What REDIS_URL names: one Redis (`redis://` or `rediss://`, as ioredis reads it) or a Redis
 * Cluster (`redis+cluster://[user:password@]host:port,host:port,…`, `rediss+cluster://` for TLS).
 * The cluster form lists seed nodes only: the client learns every master and replica from them, so
 * one reachable node is enough to start, and a list of several survives one being down.
 */
export type RedisTarget =
  { kind: 'single'; url: string } | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

const CLUSTER = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;
const NODE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Why `value` is not a Redis URL we can use, or undefined when it is. Never quotes the value (it may carry a password). */
export function redisUrlProblem(value: string): string | undefined {
  try {
    parseRedisUrl(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Parses REDIS_URL (see RedisTarget); throws an Error whose message describes the expected form, never the value. */
export function parseRedisUrl(value: string): RedisTarget {
  const cluster = CLUSTER.exec(value);
  if (cluster) {
    const [, scheme, auth, hosts] = cluster;
    const nodes = hosts!.split(',').map((h) => {
      const m = NODE.exec(h.trim());
      const port = m ? Number(m[2]) : 0;
      if (!m || port < 1 || port > 65535) throw new Error('a cluster URL lists its seed nodes as host:port, comma-separated (redis+cluster://h1:7000,h2:7001)');
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    });
    const [user, password] = auth === undefined ? [] : auth.split(/:(.*)/s, 2);
    return {
      kind: 'cluster',
      nodes,
      ...(user ? { username: decodeURIComponent(user) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
      tls: scheme === 'rediss',
    };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('expected redis://host:port (one Redis) or redis+cluster://h1:7000,h2:7001 (a Redis Cluster)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error('expected a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL');
  }
  return { kind: 'single', url: value };
}
