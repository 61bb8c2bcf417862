/** redis-errors 1.2 (the error classes ioredis throws) ships no types; the part we use. */
declare module 'redis-errors' {
  export class RedisError extends Error {}
  /** A reply Redis sent (WRONGTYPE, NOSCRIPT, a script's error…): Redis is up and answered. */
  export class ReplyError extends RedisError {}
  /** A command given up on without an answer (ioredis: MaxRetriesPerRequestError…). */
  export class AbortError extends RedisError {}
  export class InterruptError extends AbortError {}
  export class ParserError extends RedisError {}
}
