/**
 * What a pushed manifest references must be in its repository (Distribution Spec v1.1 "Pushing
 * Manifests": a registry MAY reject a manifest that references unknown blobs; Wharf always does):
 * every blob linked and stored, every child manifest of an index in the repository. Checked before the
 * push writes anything, and again after a garbage collection ran meanwhile (src/gc/protocol.ts).
 *
 * A blob's descriptor must also give its stored size. Image Spec v1.1 "Descriptor": `size` "specifies
 * the size, in bytes, of the raw content ... If the length of the retrieved content does not match
 * the specified length, the content SHOULD NOT be trusted": a client pulling such a manifest fails
 * (containerd checks the length). CNCF Distribution does not check it at push (it stats each blob for
 * existence only), nor does zot (`ValidateManifest`: "a lightweight check if the blob is present");
 * OpenShift's registry does (`ErrManifestBlobBadSize`: "docker/distribution does not check this and
 * therefore does not provide an error for this"). Wharf rejects the push, so that a stored manifest's
 * blob descriptors give their blobs' sizes: the admin index's walk takes them from there instead of a
 * stat per blob (admin-index/scan.ts). Foreign layers with URLs are not checked (not stored:
 * ParsedManifest.blobs leaves them out); Docker schema 1, whose layers have no size, is refused at parse.
 */
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import type { RepositoryName } from '../oci/reference.js';
import { statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import type { BlobStore } from './blobs.js';
import { mapInBatches } from './limit.js';

/** How many of a manifest's references are checked at once, between turns of the event loop (see mapInBatches). */
const CHECK_BATCH = 32;

/**
 * The descriptors with distinct digests, the first of each kept (a manifest may repeat a descriptor thousands of times).
 * @throws RegistryError MANIFEST_INVALID when two descriptors of one digest give different sizes (one of them cannot be the blob's)
 */
export function distinct(descriptors: readonly Descriptor[]): Descriptor[] {
  const seen = new Map<Digest, number>();
  return descriptors.filter((d) => {
    const size = seen.get(d.digest);
    if (size === undefined) {
      seen.set(d.digest, d.size);
      return true;
    }
    if (size !== d.size) throw invalid(`the manifest's descriptors of ${d.digest} give two sizes, ${size} and ${d.size}: give its length in each`, d);
    return false;
  });
}

/** MANIFEST_INVALID with `message`, the descriptor's digest and size in its detail. */
function invalid(message: string, d: Descriptor): RegistryError {
  return new RegistryError('MANIFEST_INVALID', { message, detail: { reason: message, digest: d.digest, size: d.size } });
}

/** Checks of a manifest's references in one repository. */
export class ManifestReferences {
  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
  ) {}

  /** True when manifest `digest` is in repository `name` (its revision link exists: one stat). */
  async exists(name: RepositoryName, digest: Digest): Promise<boolean> {
    return (await statIfExists(this.driver, layout.manifestRevision(name, digest))) !== undefined;
  }

  /** True when manifest `digest` is in repository `name` and its bytes are stored (two stats at once). */
  async stored(name: RepositoryName, digest: Digest): Promise<boolean> {
    const [revision, size] = await Promise.all([this.exists(name, digest), this.blobs.statStored(digest)]);
    return revision && size !== undefined;
  }

  /**
   * Checks every blob and child manifest at once (two stats per blob, one per child), up to 32 at a time.
   * @throws RegistryError MANIFEST_BLOB_UNKNOWN naming the first one missing; MANIFEST_INVALID when a blob's descriptor gives another size than the stored blob's
   */
  async require(name: RepositoryName, blobs: readonly Descriptor[], children: readonly Descriptor[]): Promise<void> {
    await Promise.all([mapInBatches(blobs, CHECK_BATCH, (d) => this.requireBlob(name, d)), mapInBatches(children, CHECK_BATCH, (d) => this.requireManifest(name, d))]);
  }

  /** What a just-pushed manifest `digest` relies on and is gone: its own bytes or revision, a blob, a child manifest. */
  async missing(name: RepositoryName, digest: Digest, blobs: readonly Descriptor[], children: readonly Descriptor[]): Promise<Digest[]> {
    const present = [
      await this.stored(name, digest),
      ...(await mapInBatches(blobs, CHECK_BATCH, (d) => this.blobs.servable(name, d.digest))),
      ...(await mapInBatches(children, CHECK_BATCH, (d) => this.stored(name, d.digest))),
    ];
    return [digest, ...blobs.map((d) => d.digest), ...children.map((d) => d.digest)].filter((_, i) => !present[i]);
  }

  private async requireBlob(name: RepositoryName, d: Descriptor): Promise<void> {
    let size: number;
    try {
      ({ size } = await this.blobs.stat(name, d.digest));
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
          message: `the manifest references blob ${d.digest}, which is not in repository ${name}: push the blob first`,
          detail: { digest: d.digest },
        });
      }
      throw err;
    }
    if (size !== d.size) {
      throw invalid(`the manifest's descriptor of blob ${d.digest} gives size ${d.size}, but the stored blob is ${size} bytes: set the descriptor's size to the blob's length`, d);
    }
  }

  private async requireManifest(name: RepositoryName, d: Descriptor): Promise<void> {
    if (!(await this.exists(name, d.digest))) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
        message: `the index references manifest ${d.digest}, which is not in repository ${name}: push it first`,
        detail: { digest: d.digest },
      });
    }
  }
}
