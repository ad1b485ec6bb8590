/**
 * The StorageDriver contract: a small key/value file system over `/`-separated paths, shaped
 * after CNCF Distribution's `storagedriver.StorageDriver`. Drivers know nothing of HTTP or of what a
 * repository is; `layout.ts` is the only module that builds the paths they are given.
 */
import type { Readable } from 'node:stream';
import { InvalidPathError, PathNotFoundError } from './driver-errors.js';

/** What {@link StorageDriver.stat} reports of a path. */
export interface FileInfo {
  path: string;
  /** bytes; 0 for a directory */
  size: number;
  modTime: Date;
  isDir: boolean;
}

/** A byte range of an object: `offset` bytes skipped, then at most `length` bytes (all when absent). */
export interface ReadRange {
  offset: number;
  length?: number;
}

/** Options of {@link StorageDriver.getContent}, {@link StorageDriver.list} and {@link StorageDriver.stat}. */
export interface ReadOptions {
  /**
   * false for a walk that reads each object once (garbage collection, the admin index's walk): the
   * driver keeps nothing it reads in a read cache (it may answer from one), so the walk neither grows
   * the process nor pushes out what requests read again
   */
  cache?: boolean;
  /**
   * With `list`: a driver whose listings hide the temporary files of its atomic writes (the
   * filesystem's `.wharf-tmp-*`) adds their storage paths here, so that a purge of them need not list
   * the folder again ({@link ListedFolders}). Others add nothing.
   */
  temporaries?: string[];
}

/** Options of {@link StorageDriver.delete}. */
export interface DeleteOptions {
  /**
   * For many deletes in a row (garbage collection's sweep): a driver whose folders exist only while
   * they hold an object (the filesystem) does not try to remove the deleted object's folder, and adds
   * the folder's storage path here instead; the caller hands them to
   * {@link StorageDriver.removeEmptyFolders} once, when it is done. Others add nothing.
   */
  emptied?: Set<string>;
}

/**
 * Folders a caller listed whole with {@link ReadOptions.temporaries} (garbage collection's blob shards),
 * handed to {@link StorageDriver.purgeTemporaries} so that it does not read them again: what their
 * listings found stands for what they hold. A temporary file old enough to purge was there when the
 * folder was listed, unless the run took longer than the purge age (then the next run finds it).
 */
export interface ListedFolders {
  /** storage paths of the folders listed */
  folders: string[];
  /** true for the storage path of a folder listed too (many folders, told by their shape) */
  alsoListed?: (folder: string) => boolean;
  /** storage paths of the temporary files their listings found */
  temporaries: string[];
}

/**
 * A storage backend. Paths match {@link PATH_PATTERN}. Every method rejects with
 * {@link PathNotFoundError} when the object it needs is absent, {@link InvalidPathError} for a malformed
 * path (errors in driver-errors.ts), and passes any other I/O error through.
 */
export interface StorageDriver {
  /** The driver's name, as in the config (`filesystem`, `inmemory`, `s3`). */
  readonly name: string;
  /** Size and time of an object, or that a directory (a prefix of objects) exists. */
  stat(path: string, options?: ReadOptions): Promise<FileInfo>;
  /**
   * The whole content of a small object (links, manifests, session info). The Buffer may be shared with
   * concurrent callers and a driver's read cache: read it, never write into it.
   */
  getContent(path: string, options?: ReadOptions): Promise<Buffer>;
  /** Writes a small object atomically: readers see the old content or the new, never a part. */
  putContent(path: string, content: Buffer | string): Promise<void>;
  /**
   * A stream of an object's bytes from `range.offset`.
   * @throws InvalidOffsetError when the offset is past the end
   */
  reader(path: string, range?: ReadRange): Promise<Readable>;
  /**
   * The state of the chunked object at `path` (see {@link append}): `{size: 0}` when nothing was appended.
   * Read it before {@link appendedReader} and {@link commitAppended}, which take it.
   */
  appendedState(path: string): Promise<AppendedState>;
  /**
   * Appends everything `source` yields to the chunked object at `path`, creating it when absent;
   * respects back-pressure. A chunked object holds upload-session data: it grows by appends and ends
   * as an ordinary object through {@link commitAppended}. It is read and written ONLY through
   * `appendedState`, `append`, `appendedReader` and `commitAppended` (how it is stored is the driver's
   * business: one file grown in place on disk, one immutable part object per append on S3), and
   * `delete` of it or of a folder above it removes it.
   *
   * A failed or aborted append keeps a prefix of its bytes (none on drivers that store each append as
   * one object): `appendedState` tells where to resume. Of concurrent appends at the same offset at
   * most one succeeds, the others reject with InvalidOffsetError (through one driver instance; through
   * several instances over one store where the driver says so).
   * @param options.offset where the bytes go: must be the object's current size
   * @returns the number of bytes this call appended
   * @throws InvalidOffsetError when `offset` is not the current size, or another append took that offset
   */
  append(path: string, source: Readable, options: AppendOptions): Promise<number>;
  /**
   * A stream of exactly the bytes that `state` (from {@link appendedState}) names, in order.
   * @throws AppendedUnreadableError when the driver sent some of them into a store-side upload that cannot
   *   be read before the commit (S3: parts of a multipart upload); verify them at the commit instead
   */
  appendedReader(path: string, state: AppendedState): Promise<Readable>;
  /**
   * Makes the bytes that `state` names the object `dest` (atomic: readers of `dest` see all of it or
   * what was there before; no copy of the bytes where the driver can avoid it), then deletes the chunked
   * object. With `options.verify`, the driver first streams those bytes to it and makes nothing visible
   * when it throws (its error is thrown); when `dest` exists already, a verified commit may keep it.
   * @throws InvalidOffsetError when the chunked object no longer holds those bytes
   */
  commitAppended(path: string, dest: string, state: AppendedState, options?: CommitOptions): Promise<void>;
  /** Moves an object (or a directory of objects) to `dest`, replacing what is there; atomic for one object. */
  move(source: string, dest: string): Promise<void>;
  /** Names (not paths) of the direct children of a directory, in lexical order; [] when it does not exist. */
  list(path: string, options?: ReadOptions): Promise<string[]>;
  /** Deletes an object or a directory recursively; no error when absent. */
  delete(path: string, options?: DeleteOptions): Promise<void>;
  /**
   * Removes each of `folders` (storage paths) and its parents for as long as they are empty: the
   * folders that deletes with {@link DeleteOptions.emptied} left. Drivers without folders of their
   * own leave this out.
   * @returns the folders removed (storage paths)
   */
  removeEmptyFolders?(folders: Iterable<string>): Promise<string[]>;
  /**
   * Removes the driver's own leftovers of interrupted writes (temporary files a killed process left)
   * last modified before `olderThan`; drivers without such files leave this out.
   * @param options.dryRun count only, delete nothing
   * @param options.listed folders the caller listed already, and the temporary files found there (not read again)
   * @returns how many were (or would be) removed, and their bytes
   */
  purgeTemporaries?(olderThan: Date, options: { dryRun: boolean; listed?: ListedFolders }): Promise<{ count: number; bytes: number }>;
  /**
   * A URL from which a client may GET the object itself (a presigned URL), or undefined when the
   * server must serve the bytes. Drivers without redirects leave it out.
   */
  redirectURL?(path: string): Promise<string | undefined>;
  /**
   * Checks at start-up that the storage can be reached with the configured settings.
   * @throws StorageConfigError naming the configuration key at fault and the cause
   */
  check?(): Promise<void>;
}

/** Where and how {@link StorageDriver.append} writes. */
export interface AppendOptions {
  /** bytes: the chunked object's size that this append continues from */
  offset: number;
  signal?: AbortSignal;
  /**
   * bytes a driver that writes through a buffer may gather into one write (the filesystem's write
   * stream; default 1 MiB): a larger one makes fewer writes when the source outpaces them (a
   * pull-through fill), at the cost of that much memory per append
   */
  writeBuffer?: number;
  /**
   * the source's chunks are the driver's once read (a request body: node's HTTP parser copies each
   * into a Buffer of its own that nothing else keeps): a driver that copies a chunk may free its
   * memory right away (storage/free-buffer.ts) instead of leaving it to V8's next collection
   */
  ownChunks?: boolean;
}

/** How {@link StorageDriver.commitAppended} commits. */
export interface CommitOptions {
  /** reads the committed bytes (e.g. hashes them) before they become visible; throws to refuse them */
  verify?: (bytes: Readable) => Promise<void>;
}

/**
 * A chunked object at one moment: its `size` in bytes and a `token` naming exactly those bytes,
 * meaningful only to the driver that returned it.
 */
export interface AppendedState {
  size: number;
  token: string;
}

/** Storage paths: absolute, `/`-separated components of `[A-Za-z0-9._-]`, no `.` or `..` component. */
export const PATH_PATTERN = /^(?:\/[A-Za-z0-9._-]+)+$/;

/**
 * Checks a path against {@link PATH_PATTERN} (with `/` allowed as the root) and rejects `.` and `..` components.
 * @throws InvalidPathError
 */
export function checkPath(path: string, driver: string): void {
  if (path === '/') return;
  if (!PATH_PATTERN.test(path) || path.split('/').some((c) => c === '.' || c === '..')) {
    throw new InvalidPathError(path, driver);
  }
}

/**
 * The {@link FileInfo} of `path`, or undefined when it does not exist.
 * @throws what {@link StorageDriver.stat} throws, except {@link PathNotFoundError}
 */
export async function statIfExists(driver: StorageDriver, path: string, options?: ReadOptions): Promise<FileInfo | undefined> {
  try {
    return await driver.stat(path, options);
  } catch (err) {
    if (err instanceof PathNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The content of the object at `path` (see {@link StorageDriver.getContent}), or undefined when it does not exist.
 * @throws what {@link StorageDriver.getContent} throws, except {@link PathNotFoundError}
 */
export async function contentIfExists(driver: StorageDriver, path: string, options?: ReadOptions): Promise<Buffer | undefined> {
  try {
    return await driver.getContent(path, options);
  } catch (err) {
    if (err instanceof PathNotFoundError) return undefined;
    throw err;
  }
}
