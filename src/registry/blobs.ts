/**
 * The blob store: content-addressed blobs shared by all repositories, served in a repository only
 * through that repository's link (Distribution Spec v1.1 "Pulling blobs", "Mounting a blob from
 * another repository", "Deleting Blobs").
 */
import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/reference.js';
import { statIfExists, type ReadRange, type StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/driver-errors.js';
import { sendStream } from '../storage/file-range-stream.js';
import * as layout from '../storage/layout.js';
import { GcGuard, removedDetail, type GcWatch } from './gc-guard.js';

/** What the store knows of a blob: its digest and size in bytes. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** Options of {@link BlobStore}. */
export interface BlobStoreOptions {
  /**
   * `gc.grace` in ms: a HEAD or GET that answers 200 re-writes the repository's link to the blob
   * when the link is older than a quarter of it, so a garbage collection within the next three
   * quarters of the grace period keeps the blob (0: never)
   */
  gcGraceMs?: number;
  /** the clock, ms since the epoch */
  now?: () => number;
}

/** Blobs and the per-repository links that make them readable. */
export class BlobStore {
  readonly #useRefreshMs: number;
  readonly #now: () => number;

  constructor(
    private readonly driver: StorageDriver,
    /** brackets HEAD/GET and mounts against a concurrent garbage collection (src/gc/protocol.ts) */
    readonly gcGuard: GcGuard = new GcGuard(driver),
    options: BlobStoreOptions = {},
  ) {
    this.#useRefreshMs = (options.gcGraceMs ?? 0) / 4;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The blob `digest` as seen from repository `name`.
   * @throws RegistryError BLOB_UNKNOWN when the repository does not link it or its bytes are gone
   */
  async stat(name: RepositoryName, digest: Digest): Promise<BlobInfo> {
    return (await this.lookup(name, digest)).info;
  }

  /**
   * {@link stat} for a blob HEAD or GET, whose 200 lets a client skip uploading the blob: a garbage
   * collection running meanwhile keeps the blob, or the answer is BLOB_UNKNOWN so the client uploads it.
   * The answer also counts as a use of the blob for the grace period of later runs: the repository's
   * link is re-written when it is older than a quarter of `gc.grace` (one stat, no write, otherwise).
   * @throws RegistryError BLOB_UNKNOWN
   */
  async head(name: RepositoryName, digest: Digest): Promise<BlobInfo> {
    const watch = await this.gcGuard.begin();
    const { info, linkedAt } = await this.lookup(name, digest);
    const refreshed = this.needsRefresh(linkedAt);
    if (refreshed) await this.link(name, digest);
    const kept = await watch.settle({
      digests: [digest],
      intact: () => this.servable(name, digest),
      // a run swept the blob and its link before the link was re-written: drop the link again
      ...(refreshed ? { undo: () => this.driver.delete(layout.layerLink(name, digest)) } : {}),
    });
    if (!kept) {
      const byGc = await this.gcGuard.removedByGc([digest]);
      throw new RegistryError('BLOB_UNKNOWN', {
        message: `${byGc ? 'a garbage collection removed' : 'a client deleted'} the blob: upload it again`,
        detail: removedDetail(digest, byGc, 'upload the blob'),
      });
    }
    return info;
  }

  /**
   * True when a repository object written at `writtenAt` (ms since the epoch: a blob link, a manifest
   * revision) is older than a quarter of `gc.grace`, so a use of it must write it again for garbage
   * collections within the next three quarters of the grace period to count it as young (mark.ts);
   * false when it is younger, and always when `gc.grace` is 0 (nothing is young then).
   */
  needsRefresh(writtenAt: number): boolean {
    return this.#useRefreshMs > 0 && this.#now() - writtenAt > this.#useRefreshMs;
  }

  /** {@link stat}, with the modification time of the repository's link (ms since the epoch). */
  private async lookup(name: RepositoryName, digest: Digest): Promise<{ info: BlobInfo; linkedAt: number }> {
    try {
      // both at once (two HEADs on S3): the link and the bytes must both be there, in either order
      const [link, { size }] = await Promise.all([this.driver.stat(layout.layerLink(name, digest)), this.driver.stat(layout.blobData(digest))]);
      return { info: { digest, size }, linkedAt: link.modTime.getTime() };
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', { detail: { digest } });
      throw err;
    }
  }

  /** True when repository `name` links blob `digest` and its bytes are stored. */
  async servable(name: RepositoryName, digest: Digest): Promise<boolean> {
    try {
      await this.stat(name, digest);
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') return false;
      throw err;
    }
  }

  /** The size in bytes of blob `digest` in the shared store, or undefined when it is not stored. */
  async statStored(digest: Digest): Promise<number | undefined> {
    return (await statIfExists(this.driver, layout.blobData(digest)))?.size;
  }

  /** A stream of the blob's bytes (check access with {@link stat} first). */
  open(digest: Digest, range?: ReadRange): Promise<Readable> {
    return this.driver.reader(layout.blobData(digest), range);
  }

  /**
   * Writes the blob's bytes (or `range` of them) to `dest` and ends it (unless `options.end` is false:
   * one part of a multipart answer), through the driver's direct send where it has one (reused buffers
   * on the filesystem), else by piping (check access with {@link stat} first).
   * @throws PathNotFoundError when the blob is not stored; the stream's or `dest`'s error when either fails
   */
  async send(digest: Digest, range: ReadRange | undefined, dest: Writable, options: { end?: boolean } = {}): Promise<void> {
    await sendStream(await this.open(digest, range), dest, options.end ?? true);
  }

  /** A URL the client may fetch the blob's bytes from itself (a presigned storage URL), or undefined (check access with {@link stat} first). */
  redirectURL(digest: Digest): Promise<string | undefined> {
    return this.driver.redirectURL?.(layout.blobData(digest)) ?? Promise.resolve(undefined);
  }

  /** Links blob `digest` into repository `name` (idempotent; refreshes the link's time). */
  async link(name: RepositoryName, digest: Digest): Promise<void> {
    await this.driver.putContent(layout.layerLink(name, digest), digest);
  }

  /**
   * Removes repository `name`'s link to blob `digest`; the bytes stay for other repositories
   * until garbage collection.
   * @throws RegistryError BLOB_UNKNOWN when the repository does not link it
   */
  async unlink(name: RepositoryName, digest: Digest): Promise<void> {
    await this.stat(name, digest);
    await this.driver.delete(layout.layerLink(name, digest));
  }

  /**
   * Links blob `digest` into repository `name` under `watch` (a mount or an adoption): true when the
   * link stands; false when a garbage collection that overlapped removed what it relies on, the link
   * then deleted again.
   */
  private async linkSettled(watch: GcWatch, name: RepositoryName, digest: Digest): Promise<boolean> {
    await this.link(name, digest);
    return watch.settle({
      digests: [digest],
      intact: () => this.servable(name, digest),
      undo: () => this.driver.delete(layout.layerLink(name, digest)),
    });
  }

  /**
   * Links blob `digest`, whose bytes are stored for other repositories, into repository `name`
   * without a source repository: for a pull-through cache whose upstream just confirmed that the
   * repository has the blob. Under the garbage collection protocol, as a mount.
   * @returns the blob, or undefined when its bytes are not stored (or a collection removed them meanwhile)
   */
  async adopt(name: RepositoryName, digest: Digest): Promise<BlobInfo | undefined> {
    const watch = await this.gcGuard.begin();
    const size = await this.statStored(digest);
    if (size === undefined) return undefined;
    return (await this.linkSettled(watch, name, digest)) ? { digest, size } : undefined;
  }

  /**
   * Mounts blob `digest` into `name` from the first of `sources` that links it (Distribution Spec
   * v1.1 "Mounting a blob from another repository"; without `from`, the caller passes every
   * repository the client may read). Bytes that no source links are never mounted, so a blob deleted
   * from every repository cannot be brought back by knowing its digest.
   * @returns the mounted blob, or undefined when no source links it (the client then uploads it)
   */
  async mount(name: RepositoryName, digest: Digest, sources: Iterable<RepositoryName>): Promise<BlobInfo | undefined> {
    const watch = await this.gcGuard.begin();
    for (const source of sources) {
      let info: BlobInfo;
      try {
        info = await this.stat(source, digest);
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') continue;
        throw err;
      }
      return (await this.linkSettled(watch, name, digest)) ? info : undefined;
    }
    return undefined;
  }
}
