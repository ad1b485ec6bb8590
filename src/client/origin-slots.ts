/**
 * The cap of requests in flight per origin (`TransportOptions.connectionsPerOrigin`: a pull-through
 * cache's `maxconnections` per upstream) over both of the transport's ways of sending: Node's agents
 * (whose `maxSockets` alone would not count them) and the large-body GETs on connections of their own
 * ({@link socketGet}). A request holds its slot from its send until its answer's body ended or closed
 * (as an agent's socket is held); requests beyond the cap wait in order.
 */

/** Slots per origin, `limit` of each. */
export class OriginSlots {
  readonly #used = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limit: number) {}

  /** Requests of `origin` holding a slot now (tests). */
  inFlight(origin: string): number {
    return this.#used.get(origin) ?? 0;
  }

  /**
   * Waits for a slot of `origin`.
   * @returns its release (idempotent), to call once the request's answer is done with
   * @throws the signal's reason when it aborts while waiting
   */
  async acquire(origin: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    const used = this.#used.get(origin) ?? 0;
    if (used < this.limit) this.#used.set(origin, used + 1);
    else await this.#wait(origin, signal); // a release hands its slot over: the count stays
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(origin);
    };
  }

  #wait(origin: string, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queue = this.#waiting.get(origin) ?? [];
      this.#waiting.set(origin, queue);
      const abort = (): void => {
        const at = queue.indexOf(take);
        if (at >= 0) queue.splice(at, 1);
        reject(signal!.reason as Error);
      };
      const take = (): void => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      queue.push(take);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  #release(origin: string): void {
    const next = this.#waiting.get(origin)?.shift();
    if (next) return next();
    this.#waiting.delete(origin);
    const used = (this.#used.get(origin) ?? 1) - 1;
    if (used > 0) this.#used.set(origin, used);
    else this.#used.delete(origin);
  }
}
