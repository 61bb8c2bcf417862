import type { InvalidationBus } from './invalidation-bus';

export interface SharedCacheOptions<T> {
  bus: InvalidationBus;
  /** Invalidation topic; distinct per cache. */
  topic: string;
  /** Reads the authoritative value (undefined = does not exist; absence is cached too). */
  load(key: string): Promise<T | undefined>;
  /** Backstop lifetime of an entry in ms, for an invalidation lost in transit. */
  ttlMs: number;
  /** Entries kept at most; the oldest go first (bounds memory under a key-guessing flood). */
  maxEntries?: number;
  now?: () => number;
}

export interface SharedCache<T> {
  get(key: string): Promise<T | undefined>;
  /** Drops `key` here and in every other process (call after the write committed). */
  invalidate(key: string): Promise<void>;
}

/**
 * A per-process read-through cache whose entries every process drops together on a write.
 * A load that started before an invalidation never stores its (possibly stale) result: each key
 * has a generation that an invalidation bumps.
 */
export function createSharedCache<T>(opts: SharedCacheOptions<T>): SharedCache<T> {
  const now = opts.now ?? Date.now;
  const max = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { value: T | undefined; expires: number }>();
  const generations = new Map<string, number>();
  let epoch = 0;

  opts.bus.on(opts.topic, (key) => {
    if (key === undefined) {
      epoch++;
      entries.clear();
      generations.clear();
    } else {
      entries.delete(key);
      generations.set(key, (generations.get(key) ?? 0) + 1);
    }
  });

  return {
    async get(key) {
      const hit = entries.get(key);
      if (hit && hit.expires > now()) return hit.value;
      const gen = generations.get(key) ?? 0;
      const startEpoch = epoch;
      const value = await opts.load(key);
      if ((generations.get(key) ?? 0) === gen && epoch === startEpoch) {
        entries.delete(key);
        if (entries.size >= max) entries.delete(entries.keys().next().value!);
        entries.set(key, { value, expires: now() + opts.ttlMs });
      }
      if (generations.size > max) generations.clear();
      return value;
    },
    invalidate: (key) => opts.bus.publish(opts.topic, key),
  };
}
