/**
 * The garbage collection lease as one process's guarded operations read it (src/registry/gc-guard.ts),
 * with as few storage reads as the protocol allows (src/gc/protocol.ts, step 2):
 *
 * - **Before an operation (L0)** any read of the lease that COMPLETED before the operation started
 *   will do: the protocol compares it with a read after the operation's writes, and lease records only
 *   ever change to a new run id (the object is never deleted, a run id is never reused), so "the same
 *   run id, no run active in either read" still proves that no run started between the two reads, and
 *   so none overlapped the operation. An older read only makes that proof fail more often (then the
 *   operation touches and checks, which is always safe). So an operation reuses the process's latest
 *   completed read when it is at most {@link RECENT_MS} old, else reads.
 * - **After its writes (L2, L3)** a read must be ISSUED after the caller asked. Callers that ask while
 *   a read is in flight share the next one, issued when that read ends ({@link FreshReads}): under a
 *   load of concurrent manifest PUTs one lease read serves many of them.
 *
 * On S3 each read is one request to the store; a manifest PUT read the lease twice, now once, and
 * concurrent ones share even that.
 */
import { readLease, type GcLeaseRecord } from '../gc/protocol.js';
import type { StorageDriver } from '../storage/driver.js';
import { FreshReads } from '../storage/fresh-reads.js';

/** Milliseconds a completed read of the lease stays usable as an operation's first read (L0). */
export const RECENT_MS = 1000;

/** A read of the lease: the record (undefined when there is none) and when it completed (performance.now(), ms). */
interface Read {
  lease: GcLeaseRecord | undefined;
  at: number;
}

/** One process's reads of the lease, shared by its guarded operations. */
export class LeaseReads {
  #last: Read | undefined;
  readonly #fresh = new FreshReads<GcLeaseRecord | undefined>();

  /** @param reuseMs how old a completed read {@link before} may answer with, in ms */
  constructor(
    private readonly driver: StorageDriver,
    private readonly reuseMs = RECENT_MS,
  ) {}

  /**
   * The lease as read by a read that completed before this call, at most `reuseMs` ago, else a fresh read.
   * @throws what the driver throws, except a missing lease
   */
  async before(): Promise<GcLeaseRecord | undefined> {
    const last = this.#last;
    if (last && performance.now() - last.at <= this.reuseMs) return last.lease;
    return this.fresh();
  }

  /**
   * The lease as read by a read issued after this call (shared with the callers that asked while the
   * same read was queued).
   * @throws what the driver throws, except a missing lease
   */
  fresh(): Promise<GcLeaseRecord | undefined> {
    return this.#fresh.read('lease', () =>
      readLease(this.driver).then((lease) => {
        this.#last = { lease, at: performance.now() };
        return lease;
      }),
    );
  }
}
