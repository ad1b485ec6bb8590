/**
 * What the storage holds, for `GET /admin/v1/storage`: the bytes and count of the blobs under
 * `blobs/` (manifests' bytes included, since they are stored there too) and of the upload sessions
 * under `uploads/`. Knows nothing of HTTP.
 */
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { storedBlobs } from './stored-blobs.js';

/** Totals of the blob store and the upload sessions. */
export interface StorageUsage {
  blobs: {
    /** blobs stored (each distinct digest once) */
    count: number;
    /** their bytes */
    bytes: number;
  };
  uploads: {
    /** upload sessions in progress or abandoned */
    count: number;
    /** bytes they received so far */
    bytes: number;
  };
}

/** Sums the blob store and the upload sessions of `driver`. */
export async function storageUsage(driver: StorageDriver): Promise<StorageUsage> {
  const sessions = (await driver.list(layout.UPLOADS)).filter(layout.isUploadId);
  const [blobs, uploadSizes] = await Promise.all([
    storedBlobs(driver),
    Promise.all(sessions.map(async (id) => (await driver.appendedState(layout.uploadData(id))).size)),
  ]);
  return {
    blobs: { count: blobs.size, bytes: sum([...blobs.values()].map((b) => b.size)) },
    uploads: { count: sessions.length, bytes: sum(uploadSizes) },
  };
}

/** The total of `values`. */
function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
