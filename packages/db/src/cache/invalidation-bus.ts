/** The part of a Redis client the bus publishes with (ioredis satisfies it). */
export interface BusPublisher {
  publish(channel: string, message: string): Promise<unknown>;
}

/** A Redis connection the bus owns in subscribe mode (it can run no other command while subscribed). */
export interface BusSubscriber {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

export interface InvalidationBusOptions {
  publisher: BusPublisher;
  subscriber: BusSubscriber;
  /** One channel per deployment, e.g. `<REDIS_PREFIX>:invalidate`. */
  channel: string;
}

/** `key` undefined means "everything of this topic" (sent after a reconnect: messages may have been missed). */
export type InvalidationListener = (key: string | undefined) => void;

export interface InvalidationBus {
  /** Tells every process (this one included, synchronously) that `topic`/`key` changed. */
  publish(topic: string, key: string): Promise<void>;
  on(topic: string, listener: InvalidationListener): void;
  /** Resolves once the subscription is live. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Cross-process cache invalidation over Redis pub/sub: a write in any API or worker process drops
 * the cached entry in all of them at once. Pub/sub is at-most-once, so a (re)connected subscriber
 * clears every topic (the window in which messages could have been lost), and caches also keep a
 * short TTL as a backstop.
 */
export function createInvalidationBus(opts: InvalidationBusOptions): InvalidationBus {
  const listeners = new Map<string, InvalidationListener[]>();
  const emit = (topic: string, key: string | undefined) => {
    for (const l of listeners.get(topic) ?? []) l(key);
  };
  const onMessage = (channel: string, message: string) => {
    if (channel !== opts.channel) return;
    const nl = message.indexOf('\n');
    if (nl <= 0) return;
    emit(message.slice(0, nl), message.slice(nl + 1));
  };
  let connectedOnce = false;
  const onReady = () => {
    if (connectedOnce) for (const topic of listeners.keys()) emit(topic, undefined);
    connectedOnce = true;
  };
  opts.subscriber.on('message', onMessage);
  opts.subscriber.on('ready', onReady);
  const subscribed = opts.subscriber.subscribe(opts.channel).then(() => undefined);
  // ready() reports the failure; an unobserved rejection must not crash the process.
  subscribed.catch(() => undefined);

  return {
    async publish(topic, key) {
      emit(topic, key);
      await opts.publisher.publish(opts.channel, `${topic}\n${key}`);
    },
    on(topic, listener) {
      listeners.set(topic, [...(listeners.get(topic) ?? []), listener]);
    },
    ready: () => subscribed,
    async close() {
      opts.subscriber.off('message', onMessage);
      opts.subscriber.off('ready', onReady);
      await opts.subscriber.unsubscribe(opts.channel).catch(() => undefined);
    },
  };
}
