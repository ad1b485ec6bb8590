/**
 * Reads shared by concurrent callers without ever answering with stale data: a caller gets the result
 * of a read ISSUED AFTER it asked. When no read of that key is in flight, one is issued at once; callers
 * that ask while one is in flight share the next read, issued when that one ends. So every answer
 * reflects every write that completed before its caller asked (the same guarantee as a read of its own:
 * safe with several processes sharing one storage), and under a load of identical reads (a hot tag,
 * its tag list, the GC lease) the store answers about one read per round trip instead of one per caller.
 * Request coalescing as an HTTP cache's "collapsed forwarding", minus the cache.
 */

/** Fresh reads by key, shared by the callers that ask while an earlier read of the key is in flight. */
export class FreshReads<T> {
  readonly #inFlight = new Map<string, Promise<T>>();
  readonly #queued = new Map<string, Promise<T>>();

  /**
   * The result of `issue()` (or of another caller's identical read of `key`) issued after this call.
   * @throws what that read throws
   */
  read(key: string, issue: () => Promise<T>): Promise<T> {
    const flying = this.#inFlight.get(key);
    if (flying === undefined) return this.#issue(key, issue);
    let next = this.#queued.get(key);
    if (next === undefined) {
      const issueNext = (): Promise<T> => {
        this.#queued.delete(key);
        return this.#issue(key, issue);
      };
      next = flying.then(issueNext, issueNext);
      this.#queued.set(key, next);
    }
    return next;
  }

  #issue(key: string, issue: () => Promise<T>): Promise<T> {
    const read = issue();
    this.#inFlight.set(key, read);
    const done = (): void => {
      if (this.#inFlight.get(key) === read) this.#inFlight.delete(key);
    };
    read.then(done, done);
    return read;
  }
}
