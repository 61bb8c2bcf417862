import { AbortError, ReplyError } from 'redis-errors';

/**
 * Redis did not answer a command: unreachable, connection closed, no reconnect within the retry
 * limit, or no reply within the command timeout. The request should be refused as 503
 * service_unavailable. Raised by the clients `createRedis` makes, for every command error that is
 * not a Redis reply (`ReplyError`), so callers decide by type; the message is the original's (BullMQ
 * reads some of them).
 */
export class RedisUnavailableError extends Error {
  readonly code: string;
  constructor(override readonly cause: Error) {
    super(cause.message);
    this.name = 'RedisUnavailableError';
    this.code = (cause as { code?: string }).code ?? 'redis_unavailable';
  }
}

/** The command error as createRedis's clients raise it: Redis's own replies as they are, every other failure typed. */
export function typedRedisError(err: unknown): unknown {
  if (err instanceof ReplyError || err instanceof RedisUnavailableError || !(err instanceof Error)) return err;
  return new RedisUnavailableError(err);
}

/**
 * Whether an error means Redis is unavailable: ours (above), or an ioredis AbortError from a
 * connection we did not make (BullMQ duplicates its own blocking connections).
 */
export function isRedisUnavailable(err: unknown): boolean {
  return err instanceof RedisUnavailableError || err instanceof AbortError;
}
