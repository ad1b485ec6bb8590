/**
 * One call in flight per key (zot's `LoadOrStore` request map, Distribution's in-flight set, the
 * single-flight pattern): callers asking for a key that is being worked on share that work's result.
 * An optimisation, not a lock: the work itself must be safe to run twice (another process may).
 */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  /**
   * Runs `work` for `key`, or joins the run under way.
   * @returns the run's result, and whether this caller joined (true) or started it (false)
   */
  async run(key: string, work: () => Promise<T>): Promise<{ value: T; joined: boolean }> {
    const running = this.#running.get(key);
    if (running) return { value: await running, joined: true };
    const started = work().finally(() => this.#running.delete(key));
    this.#running.set(key, started);
    return { value: await started, joined: false };
  }
}
