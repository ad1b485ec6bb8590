/**
 * Synchronous reads of small files and folders, for a process that serves nobody while it walks the
 * storage: `wharf gc` (the filesystem driver's `blockingReads` option; never the server, where one
 * read would hold every request up).
 *
 * Why: a garbage collection reads every tag, manifest and listing once, from the page cache. An
 * asynchronous `fs.readFile` is four round trips to libuv's thread pool (open, fstat, read, close),
 * each a hand-over between the main thread and a pool thread (mutex, condition variable, eventfd
 * wake-up): on a 1,000-repository registry a dry run made 130,000 futex calls for 35,000 opens, and
 * the hand-overs cost more CPU than the reads themselves. Here a file is one open(2), one pread(2)
 * into a reused buffer and one close(2) on the calling thread; a folder one readdir. The same holds
 * for the walk of the whole tree that looks for temporary files a killed process left (7,400 folders
 * at 1,000 repositories, read one after the other: 1.1 s of waiting on the pool under load).
 *
 * The calls still return promises, and every {@link READS_PER_TURN}th one first gives the event loop
 * a turn, so timers (the GC lease's renewal, the run's progress record) run during a long walk.
 */
import { closeSync, constants, openSync, readdirSync, readFileSync, readSync, type Dirent } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Bytes read by the first pread(2): a file shorter than this costs one read (links, tags and manifests are a few KiB). */
export const FIRST_READ_BYTES = 64 * 1024;

/** How many reads run between two turns of the event loop. */
export const READS_PER_TURN = 64;

/** O_NONBLOCK: a FIFO (no writer) opens at once and its pread(2) answers ESPIPE, instead of blocking the process in open(2); a regular file reads as without it. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Reused by every read: they run one at a time (synchronously) on the one thread that calls them. */
const firstRead = Buffer.allocUnsafe(FIRST_READ_BYTES);

/**
 * The whole content of the file at `full` (an absolute path), read synchronously: a copy of the first
 * read when it came back short (the end of a regular file), else the file read whole from its start.
 * @throws the system error, its message naming `full` (ENOENT for a missing file, EISDIR for a folder, ESPIPE for a FIFO)
 */
export function readFileBlocking(full: string): Buffer {
  const fd = openSync(full, OPEN_FLAGS);
  try {
    const n = readSync(fd, firstRead, 0, FIRST_READ_BYTES, 0);
    // pread(2) left the file position at 0: readFileSync of the descriptor reads it whole from there
    return n < FIRST_READ_BYTES ? Buffer.from(firstRead.subarray(0, n)) : readFileSync(fd);
  } catch (err) {
    // a read's own message names no path (ESPIPE: invalid seek, read), unlike open's
    if (err instanceof Error && !err.message.includes(full)) err.message += ` '${full}'`;
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** Blocking reads that give the event loop a turn now and then (see the module comment). */
export class BlockingReads {
  #sinceTurn = 0;

  /**
   * The file's content (see {@link readFileBlocking}).
   * @throws the system error (ENOENT, EISDIR)
   */
  async readFile(full: string): Promise<Buffer> {
    if (++this.#sinceTurn >= READS_PER_TURN) await this.#turn();
    return readFileBlocking(full);
  }

  /**
   * The names in folder `full`, unsorted.
   * @throws the system error (ENOENT for a missing folder, ENOTDIR for a file)
   */
  async readdir(full: string): Promise<string[]> {
    if (++this.#sinceTurn >= READS_PER_TURN) await this.#turn();
    return readdirSync(full);
  }

  /**
   * The entries of folder `full` with their types (from the folder itself: no stat per entry), unsorted.
   * @throws the system error (ENOENT for a missing folder, ENOTDIR for a file)
   */
  async readdirEntries(full: string): Promise<Dirent[]> {
    if (++this.#sinceTurn >= READS_PER_TURN) await this.#turn();
    return readdirSync(full, { withFileTypes: true });
  }

  async #turn(): Promise<void> {
    this.#sinceTurn = 0;
    await nextTurn();
  }
}
