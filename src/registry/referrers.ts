/**
 * The referrers index (Distribution Spec v1.1 "Listing Referrers"): for each subject digest, the
 * descriptors of the manifests in the repository whose `subject` names it. Written when a manifest
 * with a subject is pushed, removed when it is deleted.
 */
import { ALGORITHMS, isDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import type { RepositoryName } from '../oci/reference.js';
import { contentIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';

/** Reads and writes the referrers index of repositories. */
export class ReferrersIndex {
  constructor(private readonly driver: StorageDriver) {}

  /** Records `descriptor` as a referrer of `subject` in repository `name`. */
  async add(name: RepositoryName, subject: Digest, descriptor: Descriptor): Promise<void> {
    await this.driver.putContent(layout.referrer(name, subject, descriptor.digest), JSON.stringify(descriptor));
  }

  /** Forgets manifest `digest` as a referrer of `subject` (no error when absent). */
  async remove(name: RepositoryName, subject: Digest, digest: Digest): Promise<void> {
    await this.driver.delete(layout.referrer(name, subject, digest));
  }

  /**
   * The descriptors of the referrers of `subject`, ordered by digest.
   * @param artifactType when given, only referrers of that artifact type
   */
  async list(name: RepositoryName, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const digests: Digest[] = [];
    for (const algorithm of ALGORITHMS) {
      for (const hex of await this.driver.list(layout.referrersOfAlgorithm(name, subject, algorithm))) {
        const d = `${algorithm}:${hex}`;
        if (isDigest(d)) digests.push(d);
      }
    }
    const found = await Promise.all(
      digests.map(async (d) => {
        const content = await contentIfExists(this.driver, layout.referrer(name, subject, d)); // undefined: deleted since the listing
        return content === undefined ? undefined : (JSON.parse(content.toString('utf8')) as Descriptor);
      }),
    );
    return found.filter((d): d is Descriptor => d !== undefined && (artifactType === undefined || d.artifactType === artifactType));
  }
}
