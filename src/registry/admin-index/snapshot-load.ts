/**
 * Reading the admin index's snapshot when a process starts (snapshot.ts), its rows first: while the
 * rest of it is read, the rows answer what they hold (the list of repositories, one repository's
 * figures, the storage totals), but only when they are exact: when the journal holds no change since
 * the snapshot was taken (read once, as the rows arrive; journal.ts). The caller also checks that
 * this process changed nothing meanwhile.
 */
import { CLOCK_SKEW_MS } from '../../gc/protocol.js';
import type { StorageDriver } from '../../storage/driver.js';
import { journalSince } from './journal.js';
import { readSnapshot, type SnapshotHeader } from './snapshot.js';
import type { IndexState } from './state.js';

/** One read of the snapshot at a start (see the module comment). */
export class SnapshotLoad {
  /** resolves once the rows are read and checked, or the read ended without them */
  readonly rowsRead: Promise<void>;
  #rowsDone: () => void = () => undefined;
  #rows: IndexState | undefined;
  #loaded = false;

  constructor(private readonly driver: StorageDriver) {
    this.rowsRead = new Promise<void>((resolve) => (this.#rowsDone = resolve));
  }

  /** The snapshot's rows while they are exact and the rest is still being read; undefined otherwise. */
  get rows(): IndexState | undefined {
    return this.#rows;
  }

  /**
   * Reads the whole snapshot.
   * @returns the state and header, or undefined when there is none or it is not readable (snapshot.ts)
   * @throws what the driver throws
   */
  async read(): Promise<{ state: IndexState; header: SnapshotHeader } | undefined> {
    try {
      return await readSnapshot(this.driver, (rows, header) => void this.#offer(rows, header.asOf));
    } finally {
      this.#loaded = true;
      this.#rows = undefined;
      this.#rowsDone();
    }
  }

  /** Offers `rows` (as of `asOf`, ms) when no process wrote to the journal since, and the whole is not read yet. */
  async #offer(rows: IndexState, asOf: number): Promise<void> {
    try {
      const changed = await journalSince(this.driver, asOf - CLOCK_SKEW_MS);
      if (!changed && !this.#loaded) this.#rows = rows;
    } catch {
      // the rows are not offered: the caller waits for the whole snapshot
    } finally {
      this.#rowsDone();
    }
  }
}
