/**
 * The push side of the online garbage collection protocol (described whole in src/gc/protocol.ts):
 * upload commits, mounts, blob HEAD/GET and manifest PUTs run between {@link GcGuard.begin} and
 * {@link GcWatch.settle}, so a garbage collection running at the same time keeps what they rely on,
 * or they find out and fail cleanly. When no run is active the cost is at most one small read of the
 * lease per operation: the read before it is the process's latest completed read, and concurrent
 * operations share the read after their writes (lease-reads.ts says why the protocol allows both).
 * Nothing else is cached in process memory: another process may start a run at any moment.
 */
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { anyCandidate, isActive, writeTouches, type GcLeaseRecord } from '../gc/protocol.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { LeaseReads, RECENT_MS } from './lease-reads.js';

/** What an operation relies on, for {@link GcWatch.settle}. */
export interface GuardedUse {
  /** the digests the operation made a client rely on (blobs, and manifests by their digest) */
  digests: Digest[];
  /** true when everything the operation relies on still exists in storage */
  intact(): Promise<boolean>;
  /** removes what the operation wrote, called when {@link intact} said false */
  undo?(): Promise<void>;
  /**
   * The operation's last step, run alongside the lease read to save a round trip: a check that writes
   * only when it finds something missing. Resolves true when it wrote: the lease is then read again
   * after that write, as the protocol requires of every write.
   */
  pending?: Promise<boolean>;
}

/**
 * The `detail` of the error an operation answers when what it relied on vanished while it ran
 * (src/gc/protocol.ts, step 4): the digest, `removedByGc` (true only when a garbage collection removed
 * it, see {@link GcGuard.removedByGc}; false when a client deleted it), and `reason`, saying so and what to retry.
 */
export function removedDetail(digest: Digest, byGc: boolean, retry: string): { digest: Digest; removedByGc: boolean; reason: string } {
  const cause = byGc ? `a garbage collection that ran meanwhile removed ${digest}` : `${digest} was deleted meanwhile (not by a garbage collection)`;
  return { digest, removedByGc: byGc, reason: `${cause}: ${retry}` };
}

/** True when `err` is a registry error answered because a garbage collection removed what the operation relied on ({@link gcRemovedDetail}). */
export function isRemovedByGc(err: unknown): boolean {
  return err instanceof RegistryError && (err.detail as { removedByGc?: unknown } | undefined)?.removedByGc === true;
}

/** Options of {@link GcGuard}. */
export interface GcGuardOptions {
  /** how often to re-read the lease while waiting for a sweeping run to end, in ms (default 50) */
  pollMs?: number;
  /** the clock, ms since the epoch */
  now?: () => number;
  /** how old a completed read of the lease an operation may take as its first read, in ms (default {@link RECENT_MS}; 0: always read) */
  leaseReuseMs?: number;
}

/** One guarded operation: the lease as it was before the operation started. */
export interface GcWatch {
  /**
   * Called after the operation's writes (or, for a read, after its existence check): touches,
   * waits or verifies as the protocol requires.
   * @returns true when the operation may report success; false when a garbage collection removed
   *   something it relies on (its writes were then undone)
   */
  settle(use: GuardedUse): Promise<boolean>;
}

/** Brackets registry operations against a concurrent garbage collection run. */
export class GcGuard {
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #lease: LeaseReads;

  constructor(
    private readonly driver: StorageDriver,
    options: GcGuardOptions = {},
  ) {
    this.#pollMs = options.pollMs ?? 50;
    this.#now = options.now ?? Date.now;
    this.#lease = new LeaseReads(driver, options.leaseReuseMs ?? RECENT_MS);
  }

  /**
   * True when one of `digests` is a candidate of a garbage collection run whose markers are still
   * stored (the active run's, or the last finished run's: a run keeps its candidate markers until the
   * next run starts), i.e. a collection may have removed it; false when none is, so what vanished was
   * deleted by a client (a blob or manifest `DELETE`, a repository delete). Call it after
   * {@link GcWatch.settle} answered false.
   */
  async removedByGc(digests: readonly Digest[]): Promise<boolean> {
    for (const runId of (await this.driver.list(layout.gcMarkers())).filter(layout.isGcRunId)) {
      if (await anyCandidate(this.driver, runId, digests)) return true;
    }
    return false;
  }

  /** The lease before an operation starts (a read completed before this call); call {@link GcWatch.settle} after it. */
  async begin(): Promise<GcWatch> {
    const before = await this.#lease.before();
    return { settle: (use) => this.settle(before, use) };
  }

  private async settle(before: GcLeaseRecord | undefined, use: GuardedUse): Promise<boolean> {
    const [early, wrote] = await Promise.all([this.#lease.fresh(), use.pending ?? false]);
    const after = wrote ? await this.#lease.fresh() : early;
    const beforeActive = isActive(before, this.#now());
    if (!beforeActive && !isActive(after, this.#now()) && before?.runId === after?.runId) return true;
    if (after && isActive(after, this.#now())) {
      await writeTouches(this.driver, after.runId, use.digests);
      const again = await this.#lease.fresh();
      const sameRun = again?.runId === after.runId && isActive(again, this.#now());
      // Still marking: the sweep will see the touches. Sweeping: safe unless the run may delete one of the digests.
      const safe = sameRun && (again.phase === 'mark' || (again.phase === 'sweep' && !(await anyCandidate(this.driver, after.runId, use.digests))));
      // The same run active since before the operation started: no other run can have deleted anything meanwhile.
      if (safe && before?.runId === after.runId && beforeActive) return true;
      if (!safe) await this.waitForEnd(after.runId);
    }
    if (await use.intact()) return true;
    await use.undo?.();
    return false;
  }

  /** Polls the lease until run `runId` is over: done, replaced by another run, or expired. */
  private async waitForEnd(runId: string): Promise<void> {
    for (;;) {
      const lease = await this.#lease.fresh();
      if (lease?.runId !== runId || !isActive(lease, this.#now())) return;
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
  }
}
