import { finishJob, isDataError, writeCheckpoint, writeUsageRows } from '@agents/db';
import type { Checkpoint, Db, FinishJob, Job } from '@agents/db';
import type { Logger } from '@agents/observability';
import { EndJob } from './attempt-errors';

/**
 * Where one attempt stores its steps and its end. A step's checkpoint carries the step's usage
 * rows (one statement, exactly-once metering). Text Postgres cannot store is made storable by
 * @agents/db before every write; a checkpoint Postgres still refuses (a data error: retrying the
 * same write cannot help) meters the step's usage alone and ends the job as failed, so a call is
 * never made again and again unbilled.
 *
 * A workflow step's checkpoint is held until the next step starts (then written alone) or the
 * attempt ends (then written by the finish statement, or alone before a retry): no call starts,
 * and no attempt ends, before the previous step is stored, and the last step costs no commit of
 * its own.
 */
export interface StepStore {
  /** Stores a step now (agent turns and tool results). */
  write(c: Checkpoint): Promise<void>;
  /** Holds a step to be written with whatever comes next. */
  hold(c: Checkpoint): void;
  /** Writes the held step, if any. */
  writeHeld(): Promise<void>;
  /** The job's terminal transition, with the held step; undefined when the row was already terminal. */
  finish(f: Ending): Promise<Job | undefined>;
  /** Before an attempt ends by throwing: stores the held step; its own failure must not hide the reason. */
  release(): Promise<void>;
}

const unstorable = (c: Checkpoint): EndJob =>
  new EndJob({ code: 'internal', message: `Step ${c.seq} (${c.kind}) could not be stored; its usage is recorded and the job was not run further.` });

/** How an attempt ends; where its event goes and which queue run ended it are the store's. */
export type Ending = Omit<FinishJob, 'deliverTo' | 'queueAttempt'>;

export interface StepStoreOptions {
  /** The queue run's BullMQ attemptsMade, recorded with a failure (FinishJob.queueAttempt). */
  queueAttempt?: number;
  /** Where the terminal event is delivered, decided at the finish (FinishJob.deliverTo). */
  deliverTo(): Promise<string | null>;
  /** Called after each committed write (a step, the finish): the job's event log grew. */
  stored?(): void;
}

export function createStepStore(db: Db, jobId: string, log: Logger, { queueAttempt, deliverTo, stored = () => undefined }: StepStoreOptions): StepStore {
  let held: Checkpoint | undefined;

  async function write(c: Checkpoint): Promise<void> {
    try {
      await writeCheckpoint(db, c);
      stored();
    } catch (err) {
      if (!isDataError(err)) throw err;
      log.error(
        { seq: c.seq, kind: c.kind, pg_code: (err as { code: string }).code },
        'checkpoint refused by Postgres; metering the step alone and ending the job',
      );
      await writeUsageRows(db, c.usage);
      throw unstorable(c);
    }
  }

  async function writeHeld(): Promise<void> {
    const c = held;
    held = undefined;
    if (c) await write(c);
  }

  return {
    write,
    hold: (c) => void (held = c),
    writeHeld,
    async finish(f) {
      const last = held;
      held = undefined;
      const target = await deliverTo();
      try {
        const done = await finishJob(db, jobId, { ...f, queueAttempt, deliverTo: target }, last);
        stored();
        return done;
      } catch (err) {
        if (!isDataError(err)) throw err;
        // The last step or the output was refused: keep the step's usage, end without them.
        log.error({ pg_code: (err as { code: string }).code }, 'terminal write refused by Postgres; recording the failure without the result');
        if (last) await writeUsageRows(db, last.usage);
        const failed = await finishJob(db, jobId, {
          status: 'failed',
          error: { code: 'internal', message: 'The job finished but its result could not be stored.' },
          queueAttempt,
          deliverTo: target,
        });
        stored();
        return failed;
      }
    },
    release: () =>
      writeHeld().catch((e: Error) => {
        log.warn({ err: { message: e.message } }, 'could not store the last step before handing the job back');
      }),
  };
}
