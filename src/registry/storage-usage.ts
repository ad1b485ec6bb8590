/**
 * What the storage holds, for `GET /admin/v1/storage`: the bytes and count of the blobs under
 * `blobs/` (manifests' bytes included, since they are stored there too) and of the upload sessions
 * under `uploads/`. Walks the layout's folders; knows nothing of HTTP.
 */
import { ALGORITHMS, isDigest } from '../oci/digest.js';
import { statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from './limit.js';

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

/** How many `stat` calls run at once while walking. */
const CONCURRENCY = 32;

/** Sums the blob store and the upload sessions of `driver`. */
export async function storageUsage(driver: StorageDriver): Promise<StorageUsage> {
  const blobPaths: string[] = [];
  for (const algorithm of ALGORITHMS) {
    for (const prefix of await driver.list(layout.blobShards(algorithm))) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const hex of await driver.list(layout.blobShard(algorithm, prefix))) {
        const d = `${algorithm}:${hex}`;
        if (isDigest(d) && hex.startsWith(prefix)) blobPaths.push(layout.blobData(d));
      }
    }
  }
  const sessions = (await driver.list(layout.UPLOADS)).filter(layout.isUploadId);
  const [blobSizes, uploadSizes] = await Promise.all([
    sizes(driver, blobPaths),
    Promise.all(sessions.map(async (id) => (await driver.appendedState(layout.uploadData(id))).size)),
  ]);
  return {
    blobs: { count: blobSizes.filter((s) => s !== undefined).length, bytes: sum(blobSizes) },
    uploads: { count: sessions.length, bytes: sum(uploadSizes) },
  };
}

/** The size of each path (undefined when it vanished since the listing, or was never written), `CONCURRENCY` at a time. */
async function sizes(driver: StorageDriver, paths: readonly string[]): Promise<(number | undefined)[]> {
  const out: (number | undefined)[] = new Array<number | undefined>(paths.length);
  await forEachLimit(
    paths.map((_, i) => i),
    CONCURRENCY,
    async (i) => {
      out[i] = (await statIfExists(driver, paths[i]!))?.size;
    },
  );
  return out;
}

function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((a, b) => a + (b ?? 0), 0);
}
