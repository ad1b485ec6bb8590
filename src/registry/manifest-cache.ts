/**
 * An in-process cache of manifest bytes by digest: a manifest's bytes under `blobs/` are immutable
 * (content-addressed, verified when written), so the cache never holds stale bytes. It never answers
 * whether a manifest EXISTS: the manifest store reads the repository's revision link (by digest) or
 * tag (by tag) on every request first (a delete, a garbage collection or another process may have
 * removed it), and takes only the bytes from here. That keeps it safe with several processes sharing one storage.
 */
import { LRUCache } from 'lru-cache';
import type { Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';

/** The cache's default budget in bytes of manifest bodies (least recently used evicted first). */
export const MANIFEST_CACHE_BYTES = 32 * 1024 * 1024;

/** Manifest bodies by digest, bounded by their total size in bytes. */
export class ManifestCache {
  readonly #lru: LRUCache<Digest, Buffer>;

  /** @param maxBytes the budget in bytes; each body counts its length */
  constructor(maxBytes = MANIFEST_CACHE_BYTES) {
    this.#lru = new LRUCache<Digest, Buffer>({
      maxSize: maxBytes,
      maxEntrySize: Math.min(MAX_MANIFEST_BYTES, maxBytes),
      sizeCalculation: (body) => Math.max(1, body.length),
    });
  }

  /** The bytes of manifest `digest` when cached (the caller has checked the revision link). */
  get(digest: Digest): Buffer | undefined {
    return this.#lru.get(digest);
  }

  /** Keeps `body`, whose sha256 is `digest` (read from `blobs/` or just verified on a push). */
  set(digest: Digest, body: Buffer): void {
    this.#lru.set(digest, body);
  }

  /** Forgets manifest `digest` (on delete: not needed for correctness, it frees the memory sooner). */
  delete(digest: Digest): void {
    this.#lru.delete(digest);
  }
}
