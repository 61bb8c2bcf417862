import { loadJobEventLog } from '@agents/db';
import type { Db, JobLogEvent } from '@agents/db';
import type { JobEventHub } from './job-event-hub';

/** API.md: a comment frame every 15 s while nothing happens. */
export const JOB_EVENTS_KEEP_ALIVE_MS = 15_000;

export interface JobEventsDeps {
  db: Db;
  hub: JobEventHub;
}

export interface JobEventsQuery {
  jobId: string;
  /** Events with an id above this are produced (0: the whole log). */
  after: number;
  /** Silence after which a keep-alive is produced (and the log read again, in case a notification was lost). */
  keepAliveMs?: number;
  /** Aborting ends the stream (the client went away). */
  signal?: AbortSignal;
}

export type JobStreamItem = { kind: 'event'; event: JobLogEvent } | { kind: 'keep-alive' };

/**
 * A job's event log from `after` on, then live until its terminal event: the base of the HTTP
 * stream, the session `send` stream and the portal's timeline. Watches the job's channel BEFORE
 * each read of the log, so an event committed at any moment is either in that read or announced
 * after it; every read yields only ids above the last one yielded, so nothing comes twice. Ends
 * after the terminal event (at once for a finished job, after replaying it), when `signal`
 * aborts, or when the hub closes; always stops watching. A job that does not exist ends it empty
 * (the caller checks visibility first).
 */
export async function* jobEvents(deps: JobEventsDeps, q: JobEventsQuery): AsyncGenerator<JobStreamItem, void, undefined> {
  const keepAliveMs = q.keepAliveMs ?? JOB_EVENTS_KEEP_ALIVE_MS;
  let stale = true;
  let ended = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    ended = true;
    wake?.();
  };
  if (q.signal?.aborted) return;
  q.signal?.addEventListener('abort', stop, { once: true });
  let unwatch: (() => void) | undefined;
  try {
    unwatch = await deps.hub.watch(q.jobId, {
      changed: () => {
        stale = true;
        wake?.();
      },
      closed: stop,
    });
    let last = q.after;
    for (;;) {
      if (ended) return;
      if (stale) {
        stale = false;
        const log = await loadJobEventLog(deps.db, q.jobId);
        if (!log) return;
        for (const event of log.events) {
          if (event.id <= last) continue;
          if (ended) return;
          yield { kind: 'event', event };
          last = event.id;
        }
        if (log.ended) return;
        continue;
      }
      const quiet = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), keepAliveMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      wake = undefined;
      if (quiet && !ended) {
        yield { kind: 'keep-alive' };
        stale = true;
      }
    }
  } finally {
    q.signal?.removeEventListener('abort', stop);
    unwatch?.();
  }
}
