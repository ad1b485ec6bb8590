/**
 * The filesystem driver's cache of small files and directory listings, checked against the file
 * system on every use: one `stat(2)` replaces the four thread-pool round trips of a read (open,
 * fstat, read, close) or a `readdir` of a large folder. A cached value is used only when the path's
 * inode, size, mtime and ctime (nanoseconds) are those it was read with, so a write by this or any
 * other process on the same file system is seen at once: writes replace files by rename (a new inode
 * and ctime), and adding or removing a folder's entry changes the folder's mtime and ctime.
 *
 * The "racy" case (as git's index handles it): file system timestamps advance in clock ticks, so a
 * change made within the tick of the read could leave every stat field unchanged. A value is therefore
 * cached only when its mtime and ctime are at least {@link RACY_MARGIN_MS} old when read.
 */
import type { BigIntStats } from 'node:fs';
import { LRUCache } from 'lru-cache';

/** How old (ms) a path's mtime and ctime must be for its value to be cached. */
export const RACY_MARGIN_MS = 1000;
/** The largest file (bytes) whose content is cached: links, tags and leases are a few hundred bytes. */
export const SMALL_FILE_BYTES = 4096;
/** The default budget, bytes of memory (see {@link sizeOf}). */
const DEFAULT_BUDGET = 16 * 1024 * 1024;
/** Memory counted per cached folder entry: a name string (a digest's hex is 64 characters) and its array slot. */
const ENTRY_COST = 96;
/**
 * Memory counted per cached path besides its value: the path string, the stat fields (four BigInts),
 * the LRU's bookkeeping and, for a file, the Buffer and its backing store. Measured: a walk of 10,000
 * repositories that filled a budget counting file bytes alone held about 3.6 times the budget.
 */
const PATH_COST = 512;

/** The memory a cached value costs, bytes (estimated: see {@link PATH_COST}). */
function sizeOf(e: Cached<Buffer | readonly string[]>): number {
  return PATH_COST + (Buffer.isBuffer(e.value) ? e.value.length : e.value.length * ENTRY_COST);
}

interface Cached<T> {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  value: T;
}

function same(entry: Cached<unknown>, s: BigIntStats): boolean {
  return entry.ino === s.ino && entry.size === s.size && entry.mtimeNs === s.mtimeNs && entry.ctimeNs === s.ctimeNs;
}

/** File contents (Buffer) and folder listings (sorted names) by absolute path, bounded by an LRU budget. */
export class StatValidatedCache {
  readonly #lru: LRUCache<string, Cached<Buffer | readonly string[]>>;

  /**
   * @param budget bytes of memory: each path counts {@link PATH_COST}, plus its file's length or {@link ENTRY_COST} per name of its listing
   * @param now the clock (ms since the epoch), for the racy margin
   */
  constructor(
    budget = DEFAULT_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.#lru = new LRUCache({
      maxSize: budget,
      sizeCalculation: sizeOf,
    });
  }

  /**
   * The value cached for `path` when `stats` (a fresh `stat` of it, with `bigint: true`) still
   * describes what it was read from; undefined otherwise. Callers must not modify what they get.
   */
  get<T extends Buffer | readonly string[]>(path: string, stats: BigIntStats): T | undefined {
    const entry = this.#lru.get(path);
    if (!entry) return undefined;
    if (same(entry, stats)) return entry.value as T;
    this.#lru.delete(path);
    return undefined;
  }

  /**
   * Keeps `value`, read from `path` AFTER `stats` was taken (so a concurrent replacement can only
   * leave a newer value under older stats, which no later stat matches); not kept while racy.
   */
  set(path: string, stats: BigIntStats, value: Buffer | readonly string[]): void {
    const limit = BigInt(this.now() - RACY_MARGIN_MS) * 1_000_000n;
    if (stats.mtimeNs > limit || stats.ctimeNs > limit) return;
    this.#lru.set(path, { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs, value });
  }
}
