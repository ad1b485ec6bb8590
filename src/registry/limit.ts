/**
 * Bounded concurrency for the many small storage requests of walks over the registry (catalog,
 * garbage collection, the admin index), on p-limit.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';

/** A function that runs the tasks given to it, `concurrency` at a time (p-limit's `LimitFunction`). */
export function limiter(concurrency: number): LimitFunction {
  return pLimit(concurrency);
}

/**
 * Runs `work` for every item, at most `limit` at a time, by `limit` workers taking the next item in
 * turn (no promise per item is made up front, so a list of a million items costs no more than ten).
 * After a failure no further item is started; rejects with the first failure once the calls under
 * way have settled.
 */
export async function forEachLimit<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failed: { reason: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined) {
      const next = iterator.next();
      if (next.done) return;
      try {
        await work(next.value);
      } catch (err) {
        failed ??= { reason: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failed) throw failed.reason;
}

/**
 * Runs `work` for every item, `batch` at a time, giving the event loop one turn between batches, so
 * that thousands of checks that answer at once (a synchronous stat(2) on the filesystem, an in-memory
 * lookup) never hold other requests up for more than one batch; on a remote store it bounds the
 * requests in flight to `batch`.
 * @returns the results, in the order of `items`; rejects with the first failure of a batch
 */
export async function mapInBatches<T, R>(items: readonly T[], batch: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += batch) {
    if (i > 0) await nextTurn();
    results.push(...(await Promise.all(items.slice(i, i + batch).map(work))));
  }
  return results;
}
