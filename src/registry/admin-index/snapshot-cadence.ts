/**
 * When a process writes the admin index's snapshot (snapshot.ts): after each walk, and when its
 * index changed since the snapshot it loaded or wrote and the stored snapshot (any process's) is
 * older than `everyMs`; one write at a time; the journal is pruned after each write (journal.ts).
 */
import { statIfExists, type StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import { pruneJournal } from './journal.js';
import { writeSnapshot } from './snapshot.js';
import type { IndexState } from './state.js';

/** The snapshot writes of one process's index (see the module comment). */
export class SnapshotCadence {
  /** the index generation the last snapshot loaded or written holds */
  #generation = -1;
  #writing: Promise<void> | undefined;

  /**
   * @param everyMs the least time between two snapshots, ms
   * @param warn told of a failed write (the next one tries again)
   */
  constructor(
    private readonly driver: StorageDriver,
    private readonly everyMs: number,
    private readonly now: () => number,
    private readonly warn: (err: unknown) => void,
  ) {}

  /** Records that the index is what a snapshot holds (loaded from it at generation `generation`). */
  loaded(generation: number): void {
    this.#generation = generation;
  }

  /** Writes a snapshot of `state` as of `asOf` when it changed and the stored one is older than `everyMs`. */
  async maybe(state: IndexState, asOf: number): Promise<void> {
    if (state.generation === this.#generation) return;
    const stored = await statIfExists(this.driver, layout.indexSnapshot());
    if (stored && stored.modTime.getTime() > this.now() - this.everyMs) return;
    await this.write(state, asOf);
  }

  /** Writes a snapshot of `state` as of `asOf` (nothing when a write is under way), then prunes the journal. */
  async write(state: IndexState, asOf: number): Promise<void> {
    if (this.#writing) return;
    const generation = state.generation;
    this.#writing = (async () => {
      try {
        await writeSnapshot(this.driver, state, asOf);
        this.#generation = generation;
        await pruneJournal(this.driver, this.now());
      } catch (err) {
        this.warn(err);
      } finally {
        this.#writing = undefined;
      }
    })();
    await this.#writing;
  }

  /** Resolves once the write under way (if any) ended. */
  async settled(): Promise<void> {
    await this.#writing;
  }
}
