export interface MicroBatchOptions<I, O> {
  /** Runs one batch: one settled outcome per item, in order. A throw fails every item of the batch. */
  run(items: I[]): Promise<PromiseSettledResult<O>[]>;
  /** A batch is sent at once when it reaches this many items. */
  maxBatch: number;
  /** Batches running at the same time before new items wait (at most `windowMs`) for one to finish. */
  maxInFlight: number;
  /** Longest an item waits to be sent while `maxInFlight` batches are running (ms). */
  windowMs: number;
}

/**
 * Coalesces concurrent calls into batches. An item is sent on the next turn of the event loop
 * (setImmediate: everything that arrived in the same I/O phase goes together, and a lone call waits
 * no longer than that) while fewer than `maxInFlight` batches are running; otherwise it waits for
 * one of them to finish, or `windowMs`, or `maxBatch` items, whichever comes first. Under load the
 * batches grow by themselves; when idle nothing waits.
 */
export function createMicroBatcher<I, O>(opts: MicroBatchOptions<I, O>): (item: I) => Promise<O> {
  type Entry = { item: I; resolve(v: O): void; reject(e: unknown): void };
  let pending: Entry[] = [];
  let inFlight = 0;
  let immediate: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;

  function schedule() {
    if (!pending.length) return;
    if (inFlight < opts.maxInFlight) immediate ??= setImmediate(flush);
    else timer ??= setTimeout(flush, opts.windowMs);
  }

  function flush() {
    if (immediate) clearImmediate(immediate);
    if (timer) clearTimeout(timer);
    immediate = timer = undefined;
    if (!pending.length) return;
    const batch = pending.length > opts.maxBatch ? pending.splice(0, opts.maxBatch) : pending;
    if (batch === pending) pending = [];
    inFlight++;
    let settled: Promise<unknown>;
    try {
      settled = opts.run(batch.map((e) => e.item)).then(
        (outcomes) =>
          batch.forEach((e, i) => {
            const o = outcomes[i];
            if (o?.status === 'fulfilled') e.resolve(o.value);
            else e.reject(o ? o.reason : new Error('batch returned no outcome for this item'));
          }),
        (err) => batch.forEach((e) => e.reject(err)),
      );
    } catch (err) {
      batch.forEach((e) => e.reject(err));
      settled = Promise.resolve();
    }
    void settled.finally(() => {
      inFlight--;
      schedule();
    });
    schedule();
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (pending.length >= opts.maxBatch) flush();
      else schedule();
    });
}
