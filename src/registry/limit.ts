/**
 * Bounded concurrency for the many small storage requests of walks over the registry (catalog,
 * garbage collection, the admin API's inventory), on p-limit.
 */
import pLimit, { type LimitFunction } from 'p-limit';

/** A function that runs the tasks given to it, `concurrency` at a time (p-limit's `LimitFunction`). */
export function limiter(concurrency: number): LimitFunction {
  return pLimit(concurrency);
}

/**
 * Runs `work` for every item, at most `limit` at a time; rejects with the first failure (after every
 * call has settled).
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const run = pLimit(limit);
  const results = await Promise.allSettled(items.map((item) => run(() => work(item))));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
