/**
 * The blobs in the shared store (`blobs/<alg>/<2 hex>/<hex>`), as garbage collection sweeps them and
 * the admin API's storage totals count them. Read only.
 */
import { ALGORITHMS, isDigest, type Digest } from '../oci/digest.js';
import { statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from './limit.js';

/** A blob in the shared store. */
export interface StoredBlob {
  digest: Digest;
  /** bytes */
  size: number;
  /** last modification, ms since the epoch */
  modTime: number;
}

/** How many `stat` calls one shard listing keeps in flight. */
const PARALLEL = 16;

/**
 * Every stored blob with its size (bytes) and modification time; a blob deleted while the store is
 * listed is left out. Storage errors other than "not found" propagate.
 */
export async function storedBlobs(driver: StorageDriver): Promise<Map<Digest, StoredBlob>> {
  const found = new Map<Digest, StoredBlob>();
  for (const algorithm of ALGORITHMS) {
    const shards = (await driver.list(layout.blobShards(algorithm))).filter((s) => /^[0-9a-f]{2}$/.test(s));
    await forEachLimit(shards, 4, async (shard) => {
      const digests = (await driver.list(layout.blobShard(algorithm, shard))).map((hex) => `${algorithm}:${hex}`).filter(isDigest);
      await forEachLimit(digests, PARALLEL, async (digest) => {
        const info = await statIfExists(driver, layout.blobData(digest));
        if (info && !info.isDir) found.set(digest, { digest, size: info.size, modTime: info.modTime.getTime() });
      });
    });
  }
  return found;
}
