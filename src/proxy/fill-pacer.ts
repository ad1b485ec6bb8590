/**
 * The pace of a fill's upstream, set by its clients: the upstream is read at the pace of the fastest
 * client (Distribution's tee reads at its one client's pace), so a client as fast as the upstream never
 * falls behind the fill's window; while every paced client is half a window or more behind, the
 * upstream waits (until they are back within a quarter); a fill whose clients all stop reading for
 * {@link PACE_STALL_MS} goes on at the upstream's pace without them, and so does a fill past half its
 * timeout.
 */

/** ms the upstream may wait for the fastest client before the fill stops waiting for its clients. */
export const PACE_STALL_MS = 2000;

/** A client's place in the blob. */
export interface FillReader {
  /** offset of the next byte it is sent */
  position: number;
  /** counted for pacing (false once the fill stopped waiting for it) */
  paced: boolean;
}

/** What the pacer reads of its fill. */
export interface PacedFill {
  /** bytes of the blob the upstream sent so far */
  received(): number;
  /** true while the upstream's bytes are still arriving */
  fetching(): boolean;
}

/** Decides when a fill's upstream waits for its clients. */
export class FillPacer {
  readonly #readers = new Set<FillReader>();
  #behind = false;
  #stall: NodeJS.Timeout | undefined;

  /**
   * @param windowBytes the fill's window in bytes
   * @param paceUntil ms since the epoch after which the upstream no longer waits (its timeout nears)
   * @param changed called when the upstream should pause (true) or go on (false)
   */
  constructor(
    private readonly fill: PacedFill,
    private readonly windowBytes: number,
    private readonly paceUntil: number,
    private readonly changed: (behind: boolean) => void,
  ) {}

  /** True while the upstream should wait for the clients. */
  get behind(): boolean {
    return this.#behind;
  }

  /** A client starting at byte `position`. */
  join(position: number): FillReader {
    const reader = { position, paced: true };
    this.#readers.add(reader);
    return reader;
  }

  /** The client is gone, or reads the rest from storage. */
  leave(reader: FillReader): void {
    if (this.#readers.delete(reader)) this.pace();
  }

  /** Decides again, after bytes arrived or a client moved on. */
  pace(): void {
    let lead = -1;
    for (const r of this.#readers) if (r.paced && r.position > lead) lead = r.position;
    const gap = this.fill.received() - lead;
    const behind = lead >= 0 && this.fill.fetching() && Date.now() < this.paceUntil && gap >= (this.#behind ? this.windowBytes / 4 : this.windowBytes / 2);
    if (behind === this.#behind) return;
    this.#behind = behind;
    clearTimeout(this.#stall);
    if (behind) {
      this.#stall = setTimeout(() => {
        for (const r of this.#readers) r.paced = false;
        this.pace();
      }, PACE_STALL_MS);
      this.#stall.unref();
    }
    this.changed(behind);
  }

  /** Stops the stall timer (the fill ended). */
  stop(): void {
    clearTimeout(this.#stall);
  }
}
