/**
 * Why a run kept what it kept: a newcomer who deletes an image and runs `wharf gc` should not see
 * "0 bytes freed" without a reason. Two causes are counted while the run marks (mark.ts), at no cost
 * beyond a stat of what the grace period keeps:
 *
 * - the grace period: manifests and blobs modified within `gc.grace`, or needed only by such a
 *   manifest or by a blob link made within it, with their bytes and the moment all of them are old
 *   enough to go (the same counts a second marking without a grace period would give);
 * - untagged manifests kept because untagged manifests are not deleted there (`gc.deleteuntagged`,
 *   `--delete-untagged`, a retention rule's `deleteuntagged`), counted apart from the grace period.
 */

/** What a run kept only because it was younger than the grace period. */
export interface KeptByGrace {
  manifests: number;
  blobs: number;
  /** bytes of those blobs (manifests' own bytes included: they are blobs too) */
  bytes: number;
  /** ISO 8601: when every one of them is older than the grace period (if nothing uses them meanwhile); null when none */
  collectableBy: string | null;
}

/** The explanation of a run's keeps, for its report. */
export interface KeptReport {
  keptByGrace: KeptByGrace;
  /** manifest revisions no tag reaches, kept because untagged manifests are not deleted in their repository */
  untaggedKept: number;
}

/** The tally of one run's keeps (see the module comment). */
export class KeptTally {
  #manifests = 0;
  #blobs = 0;
  #bytes = 0;
  /** ms since the epoch: the newest modification among what the grace period kept */
  #newest = -Infinity;
  #untagged = 0;

  /** @param graceMs the run's grace period (ms); without one (0) nothing is counted as kept by it */
  constructor(private readonly graceMs: number) {}

  /** A manifest revision modified at `modTime` (ms) kept only by the grace period. */
  manifest(modTime: number): void {
    this.#manifests += 1;
    this.#newest = Math.max(this.#newest, modTime);
  }

  /** A stored blob of `size` bytes kept only by the grace period, its newest use (its own or a link's modification) at `modTime` (ms). */
  blob(size: number, modTime: number): void {
    this.#blobs += 1;
    this.#bytes += size;
    this.#newest = Math.max(this.#newest, modTime);
  }

  /** `count` manifest revisions kept only because untagged manifests are not deleted in their repository. */
  untagged(count: number): void {
    this.#untagged += count;
  }

  /** The counts for the run's report. */
  report(): KeptReport {
    if (this.graceMs <= 0 || this.#manifests + this.#blobs === 0) {
      return { keptByGrace: { manifests: 0, blobs: 0, bytes: 0, collectableBy: null }, untaggedKept: this.#untagged };
    }
    return {
      keptByGrace: { manifests: this.#manifests, blobs: this.#blobs, bytes: this.#bytes, collectableBy: new Date(this.#newest + this.graceMs).toISOString() },
      untaggedKept: this.#untagged,
    };
  }
}
