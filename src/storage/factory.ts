/** Builds the storage driver that the configuration's `storage` section names. */
import type { Config } from '../config/schema.js';
import type { StorageDriver } from './driver.js';
import { FilesystemDriver } from './filesystem.js';
import { MemoryDriver } from './memory.js';

/**
 * The driver for `storage.filesystem`, `storage.s3` or `storage.inmemory` (the schema guarantees exactly
 * one is set). The S3 driver is loaded only when configured: the AWS SDK adds about 26 MiB to the
 * resident memory of a process that does not use it.
 * @param options.readCacheBytes the filesystem driver's read cache budget (default 16 MiB)
 * @param options.blockingReads the filesystem driver reads what it does not cache synchronously (`wharf gc` only: see blocking-reads.ts)
 * @throws StorageConfigError from the S3 driver's constructor
 */
export async function createDriver(storage: Config['storage'], options: { readCacheBytes?: number; blockingReads?: boolean } = {}): Promise<StorageDriver> {
  if (storage.filesystem) {
    return new FilesystemDriver(storage.filesystem.rootdirectory, { cacheBytes: options.readCacheBytes, blockingReads: options.blockingReads });
  }
  if (storage.s3) {
    const { S3Driver } = await import('./s3.js');
    const s3 = storage.s3;
    return new S3Driver({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.forcepathstyle,
      accessKey: s3.accesskey,
      secretKey: s3.secretkey,
      rootDirectory: s3.rootdirectory,
      chunkSize: s3.chunksize,
      maxParts: s3.maxparts,
      redirectExpiry: s3.redirect ? Math.round(s3.redirectexpiry / 1000) : undefined,
    });
  }
  return new MemoryDriver();
}
