/**
 * The appended-object operations of drivers that append to the object itself, in place (the
 * filesystem and memory drivers): the bytes appended so far are the object at the session's path,
 * so reading them is a ranged read of it and committing them is a move to the destination. S3
 * appends parts instead (s3-chunked.ts) and has its own.
 */
import { Readable } from 'node:stream';
import { checkPath, type AppendedState, type CommitOptions, type StorageDriver } from './driver.js';
import { InvalidOffsetError } from './driver-errors.js';

/** {@link StorageDriver.appendedReader} of an in-place driver: the first `state.size` bytes of the object at `path`. */
export async function readAppendedInPlace(driver: StorageDriver, path: string, state: AppendedState): Promise<Readable> {
  checkPath(path, driver.name);
  if (state.size === 0) return Readable.from([]);
  return driver.reader(path, { offset: 0, length: state.size });
}

/**
 * {@link StorageDriver.commitAppended} of an in-place driver: checks that the object at `path` still
 * has `state.size` bytes, lets `options.verify` read them, then moves it to `dest` (an empty one is
 * written at `dest` and deleted from `path`).
 * @throws InvalidOffsetError when the object's size is not `state.size`; what `verify` throws
 */
export async function commitAppendedInPlace(driver: StorageDriver, path: string, dest: string, state: AppendedState, options: CommitOptions = {}): Promise<void> {
  checkPath(path, driver.name);
  checkPath(dest, driver.name);
  if ((await driver.appendedState(path)).size !== state.size) throw new InvalidOffsetError(path, state.size, driver.name);
  if (options.verify) await options.verify(await driver.appendedReader(path, state));
  if (state.size === 0) {
    await driver.putContent(dest, Buffer.alloc(0));
    await driver.delete(path);
  } else {
    await driver.move(path, dest);
  }
}
