/**
 * A driver for a walk that reads each object once (a garbage collection run, the admin index's walk
 * of the registry): its `getContent` and `list` ask the driver under it not to keep what they read
 * (`cache: false`), so such a walk neither fills the process's read cache (16 MiB of a server's
 * memory that the walk would hold after it ended) nor pushes out what requests read again. Writes and
 * everything else pass through unchanged, so decorators under it (the change feed, metrics) see them.
 */
import { DriverDecorator } from './driver-decorator.js';
import type { FileInfo, ReadOptions, StorageDriver } from './driver.js';

const READ_ONCE: ReadOptions = { cache: false };

/** `inner`, its reads not cached (see the module comment). */
export class ReadOnceDriver extends DriverDecorator {
  override getContent(path: string): Promise<Buffer> {
    return this.inner.getContent(path, READ_ONCE);
  }

  override list(path: string, options?: ReadOptions): Promise<string[]> {
    return this.inner.list(path, options ? { ...options, ...READ_ONCE } : READ_ONCE);
  }

  override stat(path: string): Promise<FileInfo> {
    return this.inner.stat(path, READ_ONCE);
  }
}

/** `driver` as a {@link ReadOnceDriver} (returned as it is when it is one). */
export function readOnce(driver: StorageDriver): StorageDriver {
  return driver instanceof ReadOnceDriver ? driver : new ReadOnceDriver(driver);
}
