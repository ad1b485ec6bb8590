/**
 * What a pushed manifest references must be in its repository (Distribution Spec v1.1 "Pushing
 * Manifests": a registry MAY reject a manifest that references unknown blobs; Wharf always does):
 * every blob linked and stored, every child manifest of an index in the repository. Checked before the
 * push writes anything, and again after a garbage collection ran meanwhile (src/gc/protocol.ts).
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

/** The descriptors with distinct digests, the first of each kept (a manifest may repeat a descriptor thousands of times). */
export function distinct(descriptors: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<Digest>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
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
   * @throws RegistryError MANIFEST_BLOB_UNKNOWN naming the first one missing
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
    try {
      await this.blobs.stat(name, d.digest);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
          message: `the manifest references blob ${d.digest}, which is not in repository ${name}: push the blob first`,
          detail: { digest: d.digest },
        });
      }
      throw err;
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
