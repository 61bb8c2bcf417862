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

/**
 * Replies that say the server cannot serve the command right now rather than that the command is
 * wrong: still loading its data after a restart (LOADING), a replica (READONLY, MASTERDOWN), and on
 * a Cluster a shard without a master or slots in motion (CLUSTERDOWN, TRYAGAIN; MOVED/ASK only once
 * the Cluster client has spent its redirections on them). They arrive as replies, but mean what a
 * closed connection means: retry shortly.
 */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b/;

/** The command error as createRedis's clients raise it: Redis's own replies as they are, every other failure (and a reply of UNAVAILABLE_REPLY) typed. */
export function typedRedisError(err: unknown): unknown {
  if (err instanceof RedisUnavailableError || !(err instanceof Error)) return err;
  if (err instanceof ReplyError && !UNAVAILABLE_REPLY.test(err.message)) return err;
  return new RedisUnavailableError(err);
}

/**
 * Whether an error means Redis is unavailable: ours (above), or an ioredis AbortError from a
 * connection we did not make (BullMQ duplicates its own blocking connections).
 */
export function isRedisUnavailable(err: unknown): boolean {
  return err instanceof RedisUnavailableError || err instanceof AbortError;
}
