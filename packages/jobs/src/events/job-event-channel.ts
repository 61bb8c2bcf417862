/**
 * The Redis pub/sub channel that says "job X's event log grew". One channel per job, so a message
 * reaches only the API processes streaming that job, and a publish nobody listens to costs Redis a
 * lookup. The message carries nothing: a listener reads the log from Postgres, the only truth.
 */
export function jobEventChannel(redisPrefix: string, jobId: string): string {
  return `${redisPrefix}:job-events:${jobId}`;
}

/** The part of a Redis client the notifier publishes with (ioredis satisfies it). */
export interface JobEventPublisher {
  publish(channel: string, message: string): Promise<unknown>;
}

/** Told after every committed write that adds to a job's log (an attempt's start, a step, the finish). */
export interface JobEventNotifier {
  changed(jobId: string): void;
}

/**
 * Announces a job's new events, fire and forget: the write is already committed, and a lost
 * message only delays a stream until its next keep-alive, when it reads the log again.
 */
export function createJobEventNotifier(opts: { publisher: JobEventPublisher; redisPrefix: string }): JobEventNotifier {
  return {
    changed(jobId) {
      opts.publisher.publish(jobEventChannel(opts.redisPrefix, jobId), '').catch(() => undefined);
    },
  };
}
