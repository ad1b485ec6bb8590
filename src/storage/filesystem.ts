/**
 * The filesystem driver (config `storage.filesystem.rootdirectory`): every storage path is a file
 * under the root directory. Visible writes are atomic (a temporary file in the same folder, then
 * rename(2)); appends go straight to the file. As on the other drivers, a directory exists only while
 * it holds an object: delete and move remove the folders they leave empty, and writers that lose a
 * race with that cleanup recreate their folder and retry.
 *
 * Metadata is read with a synchronous stat(2): `stat`, and the check of the read cache in front of
 * `getContent` and `list` ({@link StatValidatedCache}). On a local disk a stat is served from the
 * kernel's inode cache in about a microsecond, less than the round trip to libuv's thread pool that an
 * asynchronous one costs (the manifest GET profile, docs/performance.md); the driver serves one
 * process on a local folder. Bytes (files, blobs, listings) are read asynchronously; the uncached reads
 * of small files and listings (a walk's: a garbage collection run, the admin index's walk) go in
 * batches to a worker thread that reads synchronously (worker-reads.ts), or, with the `blockingReads`
 * option (`wharf gc`), are synchronous on the calling thread (blocking-reads.ts).
 */
import { readFile, statSync, type Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { commitAppendedInPlace, readAppendedInPlace } from './appended-in-place.js';
import { BlockingReads } from './blocking-reads.js';
import { FileRangeStream } from './file-range-stream.js';
import { errno, removeTree, sweepTemporaries, unlinkFile } from './file-trees.js';
import { inParent, PARENT_RETRIES, pruneEmpty, renameReplacing, TEMP_PREFIX, writeAtomically } from './file-writes.js';
import { KeyedQueue } from './keyed-queue.js';
import { SMALL_FILE_BYTES, StatValidatedCache } from './stat-validated-cache.js';
import { WorkerReads } from './worker-reads.js';
import {
  checkPath,
  type AppendedState,
  type CommitOptions,
  type AppendOptions,
  type DeleteOptions,
  type FileInfo,
  type ListedFolders,
  type ReadOptions,
  type ReadRange,
  type StorageDriver,
} from './driver.js';
import { InvalidOffsetError, PathNotFoundError } from './driver-errors.js';

/** Buffer size in bytes of the append write stream unless the append asks for another (reads: see file-range-stream.ts). */
const WRITE_CHUNK = 1024 * 1024;

/**
 * `readFile` through the callback API: for the small objects `getContent` reads (links, tags,
 * manifests) about twice as fast as `fs/promises` readFile, whose FileHandle costs several more
 * round trips to the thread pool per file (seen in the manifest GET profile, see docs/performance.md).
 */
const readSmallFile = promisify(readFile);

/** A {@link StorageDriver} over a local directory. */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly root: string;
  readonly #appends = new KeyedQueue();
  readonly #cache: StatValidatedCache;
  readonly #blocking: BlockingReads | undefined;
  /** the uncached reads of small files and listings: {@link #blocking}, else batched to the worker thread */
  readonly #walkReads: BlockingReads | WorkerReads;

  /**
   * @param rootDirectory created on first write when absent
   * @param options.now the clock (ms since the epoch) of the read cache's racy margin (tests move it forward)
   * @param options.cacheBytes the read cache's budget in bytes (default 16 MiB); a process that reads
   *   each object once (`wharf gc`) gives it a small one
   * @param options.blockingReads reads with `cache: false` are synchronous system calls ({@link BlockingReads}):
   *   only for a process that serves nobody meanwhile (`wharf gc`), never for the server; without it they
   *   are synchronous on a worker thread, in batches ({@link WorkerReads})
   */
  constructor(rootDirectory: string, options: { now?: () => number; cacheBytes?: number; blockingReads?: boolean } = {}) {
    this.root = resolve(rootDirectory);
    this.#cache = new StatValidatedCache(options.cacheBytes, options.now);
    this.#blocking = options.blockingReads ? new BlockingReads() : undefined;
    this.#walkReads = this.#blocking ?? new WorkerReads();
  }

  private full(path: string): string {
    checkPath(path, this.name);
    return join(this.root, path);
  }

  /** Removes `dir` and its ancestors below the root for as long as they are empty. @returns the folders removed (absolute paths) */
  private prune(dir: string): Promise<string[]> {
    return pruneEmpty(this.root, dir);
  }

  private notFound(err: unknown, path: string): unknown {
    const code = errno(err);
    return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' ? new PathNotFoundError(path, this.name) : err;
  }

  /**
   * One synchronous stat(2), a walk's too (`cache: false`): the kernel keeps inodes longer than file
   * contents (5.7 million ext4 inodes stayed cached while the 100,000-repository registry's 7 million
   * files were measured), so a walk's stats mostly answer in microseconds, against tens of microseconds
   * of hand-over to the thread pool each. With asynchronous stats for walks, the index build at start
   * at 100,000 repositories measured 37x its 10,000-repository time (22.7x before; a loaded machine).
   */
  async stat(path: string, _options: ReadOptions = {}): Promise<FileInfo> {
    try {
      const s = statSync(this.full(path), { throwIfNoEntry: false });
      if (!s) throw new PathNotFoundError(path, this.name);
      return { path, size: s.isDirectory() ? 0 : s.size, modTime: s.mtime, isDir: s.isDirectory() };
    } catch (err) {
      throw this.notFound(err, path);
    }
  }

  /** Small files (links, tags, leases) come from {@link StatValidatedCache} after one stat(2) while unchanged; with `cache: false` what is read is not kept. */
  async getContent(path: string, options: ReadOptions = {}): Promise<Buffer> {
    const full = this.full(path);
    try {
      // a read that is not cached needs no stat to validate a cache entry: one open/fstat/read/close
      // (open/read/close, blocking or on the worker), a folder answering EISDIR (not found, as the stat's `isFile` would)
      if (options.cache === false) return await this.#walkReads.readFile(full);
      const stats = statSync(full, { bigint: true, throwIfNoEntry: false });
      if (!stats?.isFile()) throw new PathNotFoundError(path, this.name);
      if (stats.size > SMALL_FILE_BYTES) return await readSmallFile(full);
      const cached = this.#cache.get<Buffer>(full, stats);
      if (cached) return cached;
      const content = await readSmallFile(full);
      this.#cache.set(full, stats, content);
      return content;
    } catch (err) {
      throw this.notFound(err, path);
    }
  }

  /** Atomic: a temporary file beside `path`, renamed over it ({@link writeAtomically}). */
  async putContent(path: string, content: Buffer | string): Promise<void> {
    await writeAtomically(this.root, this.full(path), content);
  }

  async reader(path: string, range: ReadRange = { offset: 0 }): Promise<Readable> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.full(path), 'r');
    } catch (err) {
      throw this.notFound(err, path);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new PathNotFoundError(path, this.name);
      const { size } = info;
      if (range.offset > size) throw new InvalidOffsetError(path, range.offset, this.name);
      if (range.length === 0 || range.offset === size) {
        await handle.close();
        return Readable.from([]);
      }
      const length = Math.min(range.length ?? size, size - range.offset);
      return new FileRangeStream(handle, range.offset, length);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async appendedState(path: string): Promise<AppendedState> {
    try {
      const s = await fs.stat(this.full(path));
      return { size: s.isFile() ? s.size : 0, token: '' };
    } catch (err) {
      if (this.notFound(err, path) instanceof PathNotFoundError) return { size: 0, token: '' };
      throw err;
    }
  }

  /** Appends to the file in place; appends to one path through this instance run one at a time, so the offset check holds. */
  append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    const target = this.full(path);
    return this.#appends.run(target, async () => {
      options.signal?.throwIfAborted();
      const handle = await inParent(target, () => fs.open(target, 'a'));
      const { size } = await handle.stat().catch(async (err: unknown) => {
        await handle.close();
        throw err;
      });
      if (size !== options.offset) {
        await handle.close();
        if (size === 0) await this.delete(path); // opening created it
        throw new InvalidOffsetError(path, options.offset, this.name);
      }
      const out = handle.createWriteStream({ highWaterMark: options.writeBuffer ?? WRITE_CHUNK });
      try {
        await pipeline(source, out, { signal: options.signal });
      } finally {
        if (!out.closed) await new Promise<void>((done) => out.close(() => done()));
      }
      return out.bytesWritten;
    });
  }

  appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return readAppendedInPlace(this, path, state);
  }

  /** Moves the appended object to `dest` ({@link commitAppendedInPlace}). */
  commitAppended(path: string, dest: string, state: AppendedState, options: CommitOptions = {}): Promise<void> {
    return commitAppendedInPlace(this, path, dest, state, options);
  }

  async move(source: string, dest: string): Promise<void> {
    const from = this.full(source);
    const to = this.full(dest);
    try {
      await fs.lstat(from);
    } catch (err) {
      throw this.notFound(err, source);
    }
    if (from === to) return;
    try {
      await renameReplacing(from, to);
    } catch (err) {
      await this.prune(dirname(to));
      const sourceGone = await fs.lstat(from).then(
        () => false,
        () => true,
      );
      throw sourceGone ? new PathNotFoundError(source, this.name) : err; // else a problem at the destination
    }
    await this.prune(dirname(from));
  }

  /** A folder's names come from {@link StatValidatedCache} after one stat(2) while the folder is unchanged; with `cache: false` what is read is not kept. */
  async list(path: string, options: ReadOptions = {}): Promise<string[]> {
    const full = this.full(path);
    try {
      // not cached: no stat to validate a cache entry, a missing folder answers ENOENT (an empty listing)
      if (options.cache === false) return withoutTemporaries(path, await this.#walkReads.readdir(full), options.temporaries).sort();
      const stats = statSync(full, { bigint: true, throwIfNoEntry: false });
      if (!stats) return [];
      const cached = this.#cache.get<readonly string[]>(full, stats);
      if (cached) return cached.slice();
      const names = (await fs.readdir(full)).filter((n) => !n.startsWith(TEMP_PREFIX)).sort();
      this.#cache.set(full, stats, names.slice());
      return names;
    } catch (err) {
      const e = this.notFound(err, path);
      if (e instanceof PathNotFoundError) return [];
      throw e;
    }
  }

  /** Removes each of `folders` and its parents below the root while they are empty (one attempt each, in turn). @returns the folders removed */
  async removeEmptyFolders(folders: Iterable<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const folder of folders) {
      for (const dir of await this.prune(this.full(folder))) removed.push(dir.slice(this.root.length) || '/');
    }
    return removed;
  }

  /** Temporary files (`.wharf-tmp-*`) that a killed process left anywhere under the root; the folders in `options.listed` are not read again. */
  async purgeTemporaries(olderThan: Date, options: { dryRun: boolean; listed?: ListedFolders }): Promise<{ count: number; bytes: number }> {
    const readdir = (dir: string): Promise<Dirent[]> => this.#blocking?.readdirEntries(dir) ?? fs.readdir(dir, { withFileTypes: true });
    const folders = new Set(options.listed?.folders.map((f) => this.full(f)));
    const also = options.listed?.alsoListed;
    const skip = { has: (dir: string) => folders.has(dir) || (also !== undefined && also(dir.slice(this.root.length))) };
    const listed = { folders: skip, temporaries: options.listed?.temporaries.map((t) => this.full(t)) ?? [] };
    return sweepTemporaries(this.root, { prefix: TEMP_PREFIX, olderThan, dryRun: options.dryRun, readdir, removed: async (dir) => void (await this.prune(dir)), listed });
  }

  /**
   * An object is unlinked (one system call: most deletes, garbage collection's included, are of one
   * object), then its folder removed when left empty (with `options.emptied`: recorded there for
   * {@link removeEmptyFolders}); a folder, or a path unlink refuses, is removed recursively.
   */
  async delete(path: string, options: DeleteOptions = {}): Promise<void> {
    const target = this.full(path);
    try {
      await unlinkFile(target);
      if (options.emptied) options.emptied.add(path.slice(0, path.lastIndexOf('/')) || '/');
      else await this.prune(dirname(target));
      return;
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOTDIR') return; // a path below a file does not exist
      if (code === 'ENOENT') {
        await this.prune(dirname(target));
        return;
      }
      // EISDIR (Linux) or EPERM (macOS) for a folder: the recursive removal below
    }
    if (await removeTree(target, PARENT_RETRIES)) await this.prune(dirname(target));
  }
}

/** `names` (of the folder at storage path `path`) without the temporary files, whose paths are added to `temporaries` when given. */
function withoutTemporaries(path: string, names: string[], temporaries: string[] | undefined): string[] {
  const kept = names.filter((n) => !n.startsWith(TEMP_PREFIX));
  if (temporaries && kept.length < names.length) {
    for (const n of names) if (n.startsWith(TEMP_PREFIX)) temporaries.push(`${path.endsWith('/') ? path : `${path}/`}${n}`);
  }
  return kept;
}
