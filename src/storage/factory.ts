/** Builds the storage driver that the configuration's `storage` section names. */
import type { Config } from '../config/schema.js';
import type { StorageDriver } from './driver.js';
import { FilesystemDriver } from './filesystem.js';
import { MemoryDriver } from './memory.js';

/** The driver for `storage.filesystem` or `storage.inmemory` (the schema guarantees exactly one is set). */
export function createDriver(storage: Config['storage']): StorageDriver {
  if (storage.filesystem) return new FilesystemDriver(storage.filesystem.rootdirectory);
  return new MemoryDriver();
}
