/**
 * The change events the admin index hears (this process's writes through the driver's change feed,
 * other processes' through the journal: journal.ts's `<kind>\t<repository>\t...` lines), applied to
 * the index in batches, one batch at a time and in the order heard. While the index is being built
 * (a snapshot loading, a walk running) the events applied meanwhile are also kept, to be applied
 * again to the built state once it replaces the old one: a walk may have read a folder before or
 * after a change, and applying an event again is harmless (apply.ts reads the storage as it is then).
 *
 * Every event also moves its repository's generation, the cache key of the admin API's tag rows.
 */

/** The events of an admin index, queued and applied (see the module comment). */
export class ChangeQueue {
  #queue = new Set<string>();
  #draining: Promise<void> = Promise.resolve();
  /** events applied while a build runs, to apply again to its result; undefined when none runs */
  #kept: string[] | undefined;
  readonly #generations = new Map<string, number>();

  /** @param apply applies one batch of events (distinct, in the order heard); it handles its own errors */
  constructor(private readonly apply: (batch: string[]) => Promise<void>) {}

  /** Counts `event` in its repository's generation and, when `queue`, applies it (soon: see {@link drain}). */
  hear(event: string, queue: boolean): void {
    const name = event.split('\t')[1];
    if (name !== undefined) this.#generations.set(name, (this.#generations.get(name) ?? 0) + 1);
    if (!queue) return;
    this.#queue.add(event);
    void this.drain();
  }

  /** How many events concerned repository `name` so far. */
  generation(name: string): number {
    return this.#generations.get(name) ?? 0;
  }

  /** True when events wait to be applied. */
  get pending(): boolean {
    return this.#queue.size > 0;
  }

  /** True when no event waits and none was applied since a build began (its result misses nothing). */
  get quiet(): boolean {
    return this.#queue.size === 0 && (this.#kept?.length ?? 0) === 0;
  }

  /** A build begins: the events applied from now on are kept (nothing changes when a build already keeps them). */
  keep(): void {
    this.#kept ??= [];
  }

  /** The build ended with a new state: the events kept are queued to be applied to it, and no more are kept. */
  requeue(): void {
    for (const e of this.#kept ?? []) this.#queue.add(e);
    this.#kept = undefined;
  }

  /** The build ended without a new state: no more events are kept. */
  forget(): void {
    this.#kept = undefined;
  }

  /** Applies the queued events, one batch at a time; resolves once the queue is empty. */
  drain(): Promise<void> {
    this.#draining = this.#draining.then(async () => {
      while (this.#queue.size > 0) {
        const batch = [...this.#queue];
        this.#queue = new Set();
        this.#kept?.push(...batch);
        await this.apply(batch);
      }
    });
    return this.#draining;
  }

  /** Resolves once the batch being applied (if any) is. */
  idle(): Promise<void> {
    return this.#draining;
  }
}
