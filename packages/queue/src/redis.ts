import { Redis } from 'ioredis';
import type { Command } from 'ioredis';
import type { Logger } from '@agents/observability';
import { typedRedisError } from './redis-unavailable';

/**
 * An ioredis client whose command errors carry their kind as a type: a Redis reply stays the
 * ReplyError it is, anything else (timeout, connection closed, retries exhausted; ioredis raises
 * most of these as plain Errors) becomes RedisUnavailableError. Pipelined commands go through
 * sendCommand too, so a pipeline's per-command errors are typed the same way.
 */
class TypedErrorsRedis extends Redis {
  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const reject = command.reject;
    command.reject = (err: Error) => reject.call(command, typedRedisError(err) as Error);
    return super.sendCommand(command, stream);
  }
}

/**
 * An ioredis client set up for BullMQ (maxRetriesPerRequest null is required for its blocking
 * commands) that reconnects forever with a capped backoff and reports errors once per outage.
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
): Redis {
  const client = new TypedErrorsRedis(url, {
    maxRetriesPerRequest: opts.failFastMs ? 1 : null,
    ...(opts.failFastMs ? { commandTimeout: opts.failFastMs } : {}),
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let down = false;
  client.on('error', (err) => {
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
 * Defines a Lua script as a command on this connection, once however many users share it: ioredis
 * then sends EVALSHA, and the body again only when Redis answers NOSCRIPT (after a restart), instead
 * of EVAL with the whole text on every call. Call it as `redis[name](...keys, ...args)`, also on a pipeline.
 */
export function defineScript(redis: Redis, name: string, lua: string, numberOfKeys = 1): void {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
}
