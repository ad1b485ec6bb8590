/**
 * The base of StorageDriver decorators (the metrics' MeteredDriver, the registry's WatchedDriver):
 * every call forwarded to `inner` with its arguments as given, the optional capabilities
 * (`purgeTemporaries`, `redirectURL`, `check`, `removeEmptyFolders`) present exactly when `inner` has them. A decorator
 * overrides only what it adds to, so an option or a capability added to StorageDriver reaches the
 * driver under any stack of decorators (a per-decorator copy once dropped `commitAppended`'s `verify`).
 * `inner` is public: {@link innermost} and the change feed find the driver under the stack through it.
 */
import type { Readable } from 'node:stream';
import type { AppendedState, AppendOptions, CommitOptions, DeleteOptions, FileInfo, ReadOptions, ReadRange, StorageDriver } from './driver.js';

/** `inner`, forwarded call for call; subclasses override what they decorate. */
export abstract class DriverDecorator implements StorageDriver {
  readonly name: string;
  purgeTemporaries?: StorageDriver['purgeTemporaries'];
  redirectURL?: StorageDriver['redirectURL'];
  check?: StorageDriver['check'];
  removeEmptyFolders?: StorageDriver['removeEmptyFolders'];

  constructor(readonly inner: StorageDriver) {
    this.name = inner.name;
    if (inner.purgeTemporaries) this.purgeTemporaries = inner.purgeTemporaries.bind(inner);
    if (inner.redirectURL) this.redirectURL = inner.redirectURL.bind(inner);
    if (inner.check) this.check = inner.check.bind(inner);
    if (inner.removeEmptyFolders) this.removeEmptyFolders = inner.removeEmptyFolders.bind(inner);
  }

  stat(path: string, options?: ReadOptions): Promise<FileInfo> {
    return this.inner.stat(path, options);
  }

  getContent(path: string, options?: ReadOptions): Promise<Buffer> {
    return this.inner.getContent(path, options);
  }

  putContent(path: string, content: Buffer | string): Promise<void> {
    return this.inner.putContent(path, content);
  }

  reader(path: string, range?: ReadRange): Promise<Readable> {
    return this.inner.reader(path, range);
  }

  appendedState(path: string): Promise<AppendedState> {
    return this.inner.appendedState(path);
  }

  append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    return this.inner.append(path, source, options);
  }

  appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return this.inner.appendedReader(path, state);
  }

  commitAppended(path: string, dest: string, state: AppendedState, options?: CommitOptions): Promise<void> {
    return this.inner.commitAppended(path, dest, state, options);
  }

  move(source: string, dest: string): Promise<void> {
    return this.inner.move(source, dest);
  }

  list(path: string, options?: ReadOptions): Promise<string[]> {
    return this.inner.list(path, options);
  }

  delete(path: string, options?: DeleteOptions): Promise<void> {
    return this.inner.delete(path, options);
  }
}
