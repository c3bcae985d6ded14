export interface GroupCommitOptions {
  /** The most items one flush takes. */
  maxBatch: number;
  /** How many flushes may run at once; the rest of the items wait for one to finish. */
  maxInFlight: number;
}

/**
 * Turns a function of many items into a function of one, coalescing concurrent calls: items
 * asked for in the same turn of the event loop, or while every flush slot is busy, go together
 * in one call of `flush`, up to `maxBatch` at a time.
 *
 * There is no timer. A call made while a slot is free is flushed on the next turn, so a lone
 * caller waits no longer than it would alone; under load the batches grow by themselves to the
 * number of callers waiting, which is what makes a batch cheap per item without a flush that
 * waits for a batch to fill while the callers that would fill it are all waiting on it.
 *
 * `flush` resolves with one result per item, in order. When it rejects, every item of that
 * batch rejects with its error; other batches are not affected.
 */
export function groupCommit<Item, Result>(
  flush: (items: Item[]) => Promise<Result[]>,
  options: GroupCommitOptions,
): (item: Item) => Promise<Result> {
  interface Waiting {
    item: Item;
    resolve: (result: Result) => void;
    reject: (error: unknown) => void;
  }
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || waiting.length === 0 || inFlight >= options.maxInFlight) return;
    scheduled = true;
    setImmediate(drain);
  }

  function drain(): void {
    scheduled = false;
    while (waiting.length > 0 && inFlight < options.maxInFlight) {
      const batch = waiting.splice(0, options.maxBatch);
      inFlight += 1;
      void run(batch);
    }
  }

  async function run(batch: Waiting[]): Promise<void> {
    try {
      const results = await flush(batch.map((entry) => entry.item));
      if (results.length !== batch.length) {
        throw new Error(`a flush of ${batch.length} items gave ${results.length} results`);
      }
      batch.forEach((entry, index) => entry.resolve(results[index]!));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      inFlight -= 1;
      schedule();
    }
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      schedule();
    });
}
