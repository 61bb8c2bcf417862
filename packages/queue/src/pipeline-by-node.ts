import { Cluster, Command } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from './redis';
import { typedRedisError } from './redis-unavailable';

/** What ioredis's pipeline.exec answers per command: [error, reply]. */
export type PipelineReply = [Error | null, unknown];

/**
 * Sends one command per item, batched: on one Redis, a single pipeline (one round trip); on a
 * Cluster, one pipeline per master that serves the items' keys (ioredis refuses a pipeline whose
 * keys live on different nodes), all sent together, so a batch still costs one round trip per
 * node, not per key. Each item's command must touch only `keyOf(item)`. Replies come back in the
 * items' order; an empty answer from a pipeline counts as an error for each of its items.
 */
export async function pipelineByNode<T>(
  redis: RedisConnection,
  items: readonly T[],
  keyOf: (item: T) => string,
  add: (pipeline: ChainableCommander, item: T) => void,
): Promise<PipelineReply[]> {
  if (!(redis instanceof Cluster))
    return run(
      redis,
      items.map((_, i) => i),
    );
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const slot = new Command('get', [keyOf(item)]).getSlot()!;
    // The slot's node list (master first) as ioredis groups pipelines; the slot itself before the
    // slot map is known (the Cluster then routes the pipeline once it has it).
    const group = redis.slots[slot]?.join(';') ?? `slot:${slot}`;
    const list = groups.get(group);
    if (list) list.push(i);
    else groups.set(group, [i]);
  });
  const out = new Array<PipelineReply>(items.length);
  await Promise.all(
    [...groups.values()].map(async (idx) => {
      const replies = await run(redis, idx);
      idx.forEach((i, n) => (out[i] = replies[n]!));
    }),
  );
  return out;

  async function run(conn: RedisConnection, idx: number[]): Promise<PipelineReply[]> {
    const pipeline = conn.pipeline();
    for (const i of idx) add(pipeline, items[i]!);
    // A pipeline the Cluster refuses as a whole (its slots moved between the grouping above and the
    // send, during a failover) rejects with a plain Error: typed like any other failure to reach Redis.
    const replies = (await pipeline.exec().catch((err: unknown) => Promise.reject(typedRedisError(err)))) ?? [];
    return idx.map((_, n) => replies[n] ?? [new Error('no reply from Redis'), null]);
  }
}
