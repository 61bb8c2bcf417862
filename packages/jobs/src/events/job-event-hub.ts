import type { BusSubscriber } from '@agents/db';
import { jobEventChannel } from './job-event-channel';

/** The subscribe-mode connection the hub listens on: the same shape as the invalidation bus's, and may be shared with it. */
export type JobEventSubscriber = BusSubscriber;

export interface JobEventWatcher {
  /** The job's log may have grown (or a message may have been lost): read it again. */
  changed(): void;
  /** The hub is closing (the process shuts down): end the stream. */
  closed(): void;
}

export interface JobEventHub {
  /** Resolves once this process is subscribed to the job's channel; call the returned function to stop watching. */
  watch(jobId: string, watcher: JobEventWatcher): Promise<() => void>;
  /** Ends every watch (their `closed`) and unsubscribes. */
  close(): Promise<void>;
}

interface Entry {
  watchers: Set<JobEventWatcher>;
  subscribed: Promise<unknown>;
}

/**
 * One process's fan-out of job-event notifications: one shared subscriber connection, one channel
 * per watched job (subscribed on its first watcher, unsubscribed after its last), any number of
 * streams per job served from memory. Pub/sub is at-most-once, so after a reconnect every watcher
 * is told to read its log again.
 */
export function createJobEventHub(opts: { subscriber: JobEventSubscriber; redisPrefix: string }): JobEventHub {
  const entries = new Map<string, Entry>();
  const channelPrefix = jobEventChannel(opts.redisPrefix, '');
  let closed = false;

  const onMessage = (channel: string) => {
    if (!channel.startsWith(channelPrefix)) return;
    for (const w of entries.get(channel.slice(channelPrefix.length))?.watchers ?? []) w.changed();
  };
  let connectedOnce = false;
  const onReady = () => {
    if (connectedOnce) for (const e of entries.values()) for (const w of e.watchers) w.changed();
    connectedOnce = true;
  };
  opts.subscriber.on('message', onMessage);
  opts.subscriber.on('ready', onReady);

  function release(jobId: string, watcher: JobEventWatcher): void {
    const entry = entries.get(jobId);
    if (!entry?.watchers.delete(watcher) || entry.watchers.size) return;
    entries.delete(jobId);
    // Redis runs one connection's commands in order: a later watch's SUBSCRIBE follows this.
    opts.subscriber.unsubscribe(jobEventChannel(opts.redisPrefix, jobId)).catch(() => undefined);
  }

  return {
    async watch(jobId, watcher) {
      if (closed) throw new Error('job event hub is closed');
      let entry = entries.get(jobId);
      if (!entry) {
        entry = { watchers: new Set(), subscribed: opts.subscriber.subscribe(jobEventChannel(opts.redisPrefix, jobId)) };
        entries.set(jobId, entry);
      }
      entry.watchers.add(watcher);
      try {
        await entry.subscribed;
      } catch (err) {
        release(jobId, watcher);
        throw err;
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        release(jobId, watcher);
      };
    },
    async close() {
      closed = true;
      const all = [...entries.entries()];
      entries.clear();
      opts.subscriber.off('message', onMessage);
      opts.subscriber.off('ready', onReady);
      for (const [jobId, e] of all) {
        for (const w of e.watchers) w.closed();
        await opts.subscriber.unsubscribe(jobEventChannel(opts.redisPrefix, jobId)).catch(() => undefined);
      }
    },
  };
}
