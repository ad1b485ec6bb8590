/**
 * Reads shared by concurrent callers without ever answering with stale data: a caller gets the result
 * of a read ISSUED AFTER it asked. When no read of that key is in flight, one is issued at once; callers
 * that ask while one is in flight share the next read, issued when that one ends. So every answer
 * reflects every write that completed before its caller asked (the same guarantee as a read of its own:
 * safe with several processes sharing one storage), and under a load of identical reads (a hot tag,
 * its tag list, the GC lease) the store answers about one read per round trip instead of one per caller.
 * Request coalescing as an HTTP cache's "collapsed forwarding", minus the cache.
 */

/** A key's reads: how many are in flight, and the read that waits for one of them to end. */
interface KeyReads<T> {
  flying: number;
  next?: { read: Promise<T>; start: () => void };
}

/**
 * Fresh reads by key, shared by the callers that ask while earlier reads of the key are in flight. With
 * `maxInFlight` above 1, up to that many reads of a key overlap: a caller who finds fewer in flight gets a
 * read of its own at once, the others share the next one, issued when the oldest ends. A caller then
 * waits about one read instead of one and a half (half the read in flight, then its own), for up to
 * `maxInFlight` reads per read time instead of one.
 */
export class FreshReads<T> {
  readonly #keys = new Map<string, KeyReads<T>>();

  /** @param maxInFlight reads of one key in flight at once at most (default 1) */
  constructor(private readonly maxInFlight = 1) {}

  /**
   * The result of `issue()` (or of another caller's identical read of `key`) issued after this call.
   * @throws what that read throws
   */
  read(key: string, issue: () => Promise<T>): Promise<T> {
    let reads = this.#keys.get(key);
    if (reads === undefined) this.#keys.set(key, (reads = { flying: 0 }));
    if (reads.flying < this.maxInFlight) {
      reads.flying++;
      return this.#issue(key, reads, issue);
    }
    if (reads.next === undefined) {
      let start!: () => void;
      const started = new Promise<void>((resolve) => (start = resolve));
      const state = reads;
      reads.next = { read: started.then(() => this.#issue(key, state, issue)), start };
    }
    return reads.next.read;
  }

  /** Issues a read that holds one of the key's places in flight; when it ends, the waiting read takes that place. */
  #issue(key: string, reads: KeyReads<T>, issue: () => Promise<T>): Promise<T> {
    let read: Promise<T>;
    try {
      read = issue();
    } catch (err) {
      read = Promise.reject(err as Error);
    }
    const done = (): void => {
      const next = reads.next;
      if (next !== undefined) {
        reads.next = undefined;
        next.start();
      } else if (--reads.flying === 0) this.#keys.delete(key);
    };
    read.then(done, done);
    return read;
  }
}
