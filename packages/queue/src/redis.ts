import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, Command } from 'ioredis';
import { parseRedisUrl } from '@agents/config';
import type { Logger } from '@agents/observability';
import { typedRedisError } from './redis-unavailable';

/**
 * What createRedis returns: one Redis, or a Redis Cluster when REDIS_URL is `redis+cluster://…`.
 * BullMQ takes either. Code that needs what only one of them has (a single node's socket) checks
 * `instanceof Redis`; everything else (commands, scripts, pipelines within one slot, pub/sub) is the same.
 */
export type RedisConnection = Redis | Cluster;

/** Wraps a command's reject so its error carries its kind as a type (see TypedErrorsRedis). */
function typeErrorsOf(command: Command): void {
  const reject = command.reject;
  command.reject = (err: Error) => reject.call(command, typedRedisError(err) as Error);
}

/**
 * An ioredis client whose command errors carry their kind as a type: a Redis reply stays the
 * ReplyError it is, anything else (timeout, connection closed, retries exhausted; ioredis raises
 * most of these as plain Errors) becomes RedisUnavailableError. Pipelined commands go through
 * sendCommand too, so a pipeline's per-command errors are typed the same way.
 */
class TypedErrorsRedis extends Redis {
  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    typeErrorsOf(command);
    return super.sendCommand(command, stream);
  }
}

/**
 * The same for a Cluster. Wrapped before the Cluster installs its own reject (which handles MOVED,
 * ASK, TRYAGAIN and CLUSTERDOWN by retrying elsewhere and calls ours only with the final error), so
 * a redirect is never mistaken for an outage. A command the Cluster re-sends keeps one wrapper:
 * the Cluster re-sends to the node directly, not through this method.
 */
class TypedErrorsCluster extends Cluster {
  /**
   * A request path's budget (createRedis's failFastMs) for a command from its first send, redirects
   * and the Cluster's own offline queue included: a node's commandTimeout starts only when that
   * node sends it, and a Cluster without a usable node queues commands before any node has them.
   */
  failFastMs?: number;

  override sendCommand(command: Command, stream?: Parameters<Cluster['sendCommand']>[1], node?: Parameters<Cluster['sendCommand']>[2]): unknown {
    typeErrorsOf(command);
    // Command#setTimeout keeps the first timer: re-sends after a redirect do not extend it.
    if (this.failFastMs) command.setTimeout(this.failFastMs);
    return super.sendCommand(command, stream, node);
  }
}

/** Reconnects forever, 200 ms more per attempt, at most 2 s apart. */
const retryStrategy = (times: number) => Math.min(times * 200, 2_000);

/**
 * An ioredis client set up for BullMQ (maxRetriesPerRequest null is required for its blocking
 * commands) that reconnects forever with a capped backoff and reports errors once per outage.
 * `url` is REDIS_URL (parseRedisUrl in @agents/config): a `redis+cluster://` URL gives a Cluster.
 */
export function createRedis(
  url: string,
  logger: Logger,
  name: string,
  /**
   * failFastMs: for request paths (the API), a command fails after this long (ms) instead of
   * waiting in the offline queue until Redis is back, and is not re-sent after a failed reconnect,
   * so a caller gets a 503 instead of a hang. Never for blocking (Worker) connections.
   */
  opts: { failFastMs?: number } = {},
): RedisConnection {
  const target = parseRedisUrl(url);
  const perConnection = {
    maxRetriesPerRequest: opts.failFastMs ? 1 : null,
    ...(opts.failFastMs ? { commandTimeout: opts.failFastMs } : {}),
    connectionName: name,
  };
  const client =
    target.kind === 'single'
      ? new TypedErrorsRedis(url, { ...perConnection, retryStrategy })
      : Object.assign(new TypedErrorsCluster(target.nodes, clusterOptions(target, perConnection, opts.failFastMs)), { failFastMs: opts.failFastMs });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ err: { message: err.message }, connection: name }, 'redis connection error');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ connection: name }, 'redis connection restored');
    down = false;
  });
  return client;
}

/**
 * A Cluster that rides out a failover: a command for a master that went away is retried (on
 * "connection closed", CLUSTERDOWN and TRYAGAIN, every `retryDelayOnFailover` ms, following MOVED
 * to the promoted replica) until `maxRedirections` tries are spent. Redis fails a master over after
 * its cluster-node-timeout (15 s by default; 2 s in scripts/redis-cluster.mjs) plus an election, so
 * a background connection gets about 30 s of retries; a request path (failFastMs) gives up after
 * about its budget, like a single Redis.
 */
function clusterOptions(
  target: Extract<ReturnType<typeof parseRedisUrl>, { kind: 'cluster' }>,
  perConnection: ClusterOptions['redisOptions'],
  failFastMs: number | undefined,
): ClusterOptions {
  const retryDelayMs = 250;
  return {
    redisOptions: {
      ...perConnection,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
    clusterRetryStrategy: retryStrategy,
    retryDelayOnFailover: retryDelayMs,
    retryDelayOnClusterDown: retryDelayMs,
    retryDelayOnTryAgain: retryDelayMs,
    // Each failed try of a failover spends about two redirections (the MOVED to the old master, then its closed connection).
    maxRedirections: failFastMs ? Math.max(2, Math.ceil((2 * failFastMs) / retryDelayMs)) : Math.ceil((2 * 30_000) / retryDelayMs),
  };
}

/**
 * Defines a Lua script as a command on this connection, once however many users share it: ioredis
 * then sends EVALSHA, and the body again only when Redis answers NOSCRIPT (after a restart), instead
 * of EVAL with the whole text on every call. Call it as `redis[name](...keys, ...args)`, also on a pipeline.
 * On a Cluster every key of one call must be in one slot (give them a common hash tag).
 */
export function defineScript(redis: RedisConnection, name: string, lua: string, numberOfKeys = 1): void {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
}
