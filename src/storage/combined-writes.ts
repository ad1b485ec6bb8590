/**
 * Concurrent writes of one key sharing one request, the last content winning: the write counterpart of
 * {@link FreshReads}. When no write of a key is in flight, one is sent at once; writes of the key asked
 * while one is in flight wait for it to end, then ONE request writes the content of the last of them, and
 * each of them resolves (or rejects) with that request. So every caller's write completes within its call
 * (a caller whose content a later caller replaced is ordered just before that caller: nobody could read
 * between the two), and what is stored after the calls is what the last caller asked for, as with one
 * request each. Under a load of writes to one key (a hot tag pushed again and again, a manifest's revision)
 * the store takes about one write per round trip instead of one per caller.
 */

/** Writes by key, combined while an earlier write of the key is in flight. */
export class CombinedWrites<V> {
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #queued = new Map<string, { send: () => Promise<void>; done: Promise<void> }>();

  /**
   * Writes `value` of `key` with `send(value)`, or lets the next write of the key (issued after this
   * call, carrying the content of its last caller) stand for it.
   * @throws what that write throws
   */
  write(key: string, value: V, send: (value: V) => Promise<void>): Promise<void> {
    const flying = this.#inFlight.get(key);
    if (flying === undefined) return this.#issue(key, () => send(value));
    const queued = this.#queued.get(key);
    if (queued !== undefined) {
      queued.send = () => send(value);
      return queued.done;
    }
    const entry = { send: () => send(value), done: Promise.resolve() };
    const issueNext = (): Promise<void> => {
      this.#queued.delete(key);
      return this.#issue(key, entry.send);
    };
    entry.done = flying.then(issueNext, issueNext);
    this.#queued.set(key, entry);
    return entry.done;
  }

  #issue(key: string, send: () => Promise<void>): Promise<void> {
    let written: Promise<void>;
    try {
      written = send();
    } catch (err) {
      written = Promise.reject(err as Error);
    }
    this.#inFlight.set(key, written);
    const done = (): void => {
      if (this.#inFlight.get(key) === written) this.#inFlight.delete(key);
    };
    written.then(done, done);
    return written;
  }
}
