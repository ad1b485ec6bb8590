/**
 * The errors a storage driver rejects with (driver.ts's StorageDriver says which method throws
 * which): an absent object, a malformed path, a bad offset, appended bytes that cannot be read before
 * their commit, a storage that cannot be reached, and settings that do not work.
 */

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

/** The path is not a valid storage path (see driver.ts's PATH_PATTERN). */
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

/** The bytes of a chunked object cannot be read before its commit (see driver.ts's StorageDriver.appendedReader). */
export class AppendedUnreadableError extends Error {
  override readonly name = 'AppendedUnreadableError';
  constructor(
    readonly path: string,
    readonly driver: string,
  ) {
    super(`${driver}: the bytes appended to ${path} are in an unfinished multipart upload and can be read only after the commit`);
  }
}

/** The storage cannot be reached or keeps failing (network, throttling, 5xx after retries): a 503, not a bug. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(
    readonly driver: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${driver}: ${message}`, options);
  }
}

/** The storage settings do not work (bad credentials, missing bucket, unreachable endpoint); `key` names the configuration key. */
export class StorageConfigError extends Error {
  override readonly name = 'StorageConfigError';
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a {@link PathNotFoundError}. */
export function isNotFound(err: unknown): err is PathNotFoundError {
  return err instanceof PathNotFoundError;
}
