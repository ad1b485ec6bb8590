/** Bounded concurrency for the many small storage requests of walks over the registry (catalog, garbage collection). */

/**
 * Runs `work` for every item, at most `limit` at a time; rejects with the first failure (after the
 * calls already started have settled).
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
