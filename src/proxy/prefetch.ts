/**
 * Layer prefetch on a cold pull (config `proxy.prefetch`, off by default; docs/proxy.md "How it behaves"): when an
 * image manifest is fetched from the upstream (not served from the cache), its config and layers
 * start to be fetched into the cache at once, through the same single-flight fills the clients' blob
 * GETs join. A client pulls a few layers at a time (docker and containerd three); without prefetch
 * the later layers left the upstream only when the client got to them, so a cold pull ran at the
 * client's concurrency instead of the upstream's. A blob that is cached already, or being fetched, is
 * not fetched again; an image index prefetches nothing (its children do when they are pulled, so only
 * the platforms clients ask for are fetched). A failed prefetch is logged and changes nothing else:
 * the client's own GET of that blob then fetches it as without prefetch.
 */
import type { Logger } from 'pino';
import { parseDigest } from '../oci/digest.js';
import { forEachLimit } from '../registry/limit.js';
import type { ParsedManifest } from '../oci/manifest.js';
import type { BlobProxy } from './blobs.js';
import type { UpstreamTarget } from './routing.js';

/** Blobs of one image fetched at a time by its prefetch (more than a client's three, so the later layers start with the first). */
export const PREFETCH_CONCURRENCY = 8;

/** Starts the fetch of an image's blobs when its manifest was fetched cold. */
export class LayerPrefetch {
  constructor(
    private readonly blobs: BlobProxy,
    private readonly logger?: Logger,
    private readonly concurrency = PREFETCH_CONCURRENCY,
  ) {}

  /**
   * Fetches the blobs of `manifest` (config first, then the layers in order) into `target`'s cache
   * repository in the background, {@link concurrency} at a time; returns at once. An index is ignored.
   * @returns a promise that settles when every blob was tried (tests); it never rejects
   */
  start(target: UpstreamTarget, manifest: ParsedManifest): Promise<void> {
    if (manifest.kind !== 'image' || manifest.blobs.length === 0) return Promise.resolve();
    return forEachLimit(manifest.blobs, this.concurrency, async (blob) => {
      try {
        await this.blobs.ensure(target, parseDigest(blob.digest));
      } catch (err) {
        this.logger?.info({ upstream: target.upstream.name, repository: target.remote, digest: blob.digest, err: (err as Error).message }, 'prefetch of a layer failed: a pull of it fetches it again');
      }
    });
  }
}
