/**
 * The StorageDriver contract: a small key/value file system over `/`-separated paths, shaped
 * after CNCF Distribution's `storagedriver.StorageDriver`. Drivers know nothing of HTTP or of what a
 * repository is; `layout.ts` is the only module that builds the paths they are given.
 */
import type { Readable } from 'node:stream';

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

/**
 * A storage backend. Paths match {@link PATH_PATTERN}. Every method rejects with
 * {@link PathNotFoundError} when the object it needs is absent, {@link InvalidPathError} for a malformed
 * path, and passes any other I/O error through.
 */
export interface StorageDriver {
  /** The driver's name, as in the config (`filesystem`, `inmemory`, `s3`). */
  readonly name: string;
  /** Size and time of an object, or that a directory (a prefix of objects) exists. */
  stat(path: string): Promise<FileInfo>;
  /** The whole content of a small object (links, manifests, session info). */
  getContent(path: string): Promise<Buffer>;
  /** Writes a small object atomically: readers see the old content or the new, never a part. */
  putContent(path: string, content: Buffer | string): Promise<void>;
  /**
   * A stream of an object's bytes from `range.offset`.
   * @throws InvalidOffsetError when the offset is past the end
   */
  reader(path: string, range?: ReadRange): Promise<Readable>;
  /**
   * Appends everything `source` yields to the object at `path`, creating it when absent; respects
   * back-pressure. Bytes appended before a failure stay (the object's size tells how many).
   * Only for upload sessions: other readers must not read an object that is being appended to.
   * @returns the number of bytes this call appended
   */
  append(path: string, source: Readable, options?: { signal?: AbortSignal }): Promise<number>;
  /** Moves an object (or a directory of objects) to `dest`, replacing what is there; atomic for one object. */
  move(source: string, dest: string): Promise<void>;
  /** Names (not paths) of the direct children of a directory, in lexical order; [] when it does not exist. */
  list(path: string): Promise<string[]>;
  /** Deletes an object or a directory recursively; no error when absent. */
  delete(path: string): Promise<void>;
  /**
   * Removes the driver's own leftovers of interrupted writes (temporary files a killed process left)
   * last modified before `olderThan`; drivers without such files leave this out.
   * @param options.dryRun count only, delete nothing
   * @returns how many were (or would be) removed, and their bytes
   */
  purgeTemporaries?(olderThan: Date, options: { dryRun: boolean }): Promise<{ count: number; bytes: number }>;
}

/** Storage paths: absolute, `/`-separated components of `[A-Za-z0-9._-]`, no `.` or `..` component. */
export const PATH_PATTERN = /^(?:\/[A-Za-z0-9._-]+)+$/;

/** The requested path does not exist. */
export class PathNotFoundError extends Error {
  override readonly name = 'PathNotFoundError';
  constructor(
    readonly path: string,
    readonly driver: string,
  ) {
    super(`${driver}: path not found: ${path}`);
  }
}

/** The path is not a valid storage path (see {@link PATH_PATTERN}). */
export class InvalidPathError extends Error {
  override readonly name = 'InvalidPathError';
  constructor(
    readonly path: string,
    readonly driver: string,
  ) {
    super(`${driver}: invalid path: ${path}`);
  }
}

/** A read started past the end of an object. */
export class InvalidOffsetError extends Error {
  override readonly name = 'InvalidOffsetError';
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly driver: string,
  ) {
    super(`${driver}: invalid offset ${offset} for ${path}`);
  }
}

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
export async function statIfExists(driver: StorageDriver, path: string): Promise<FileInfo | undefined> {
  try {
    return await driver.stat(path);
  } catch (err) {
    if (err instanceof PathNotFoundError) return undefined;
    throw err;
  }
}

/** True for a {@link PathNotFoundError}. */
export function isNotFound(err: unknown): err is PathNotFoundError {
  return err instanceof PathNotFoundError;
}
