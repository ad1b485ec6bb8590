/**
 * A repository in the admin index: what storage tells of it ({@link RepositoryFacts}), what the
 * index holds of it ({@link RepositoryEntry}, kept by state.ts's IndexState), and its bytes split
 * into unique and shared ({@link RepositoryBytes}), as the admin API reports them.
 */
import type { Digest } from '../../oci/digest.js';
import type { RepositoryName } from '../../oci/reference.js';

/** Bytes of a repository, split by whether another repository references the same objects. */
export interface RepositoryBytes {
  /** bytes of the distinct objects referenced by this repository's manifests and by no other repository's */
  unique: number;
  /** bytes of the distinct objects referenced by this repository's manifests and by at least one other repository's */
  shared: number;
  /** unique + shared: what this repository references */
  total: number;
}

/** A repository as the index holds it. */
export interface RepositoryEntry {
  name: RepositoryName;
  tags: number;
  /** manifest revisions (tagged or not, image indexes' children and referrers included) */
  manifests: number;
  /** the newest `pushedAt` of its tags, ms since the epoch; 0 when it has no tag */
  lastPush: number;
  /** ids of the blobs its manifests reference (the manifests themselves, configs, layers), sorted, distinct */
  refs: Uint32Array;
  /** its bytes as of the index's blob generation `bytesAt` (state.ts, IndexState.blobGeneration) */
  bytes: RepositoryBytes;
  bytesAt: number;
}

/** What a repository holds, as read from storage. */
export interface RepositoryFacts {
  tags: number;
  manifests: number;
  lastPush: number;
  /** the digests its manifests reference (the manifests themselves, configs, layers) */
  refs: Iterable<Digest>;
}
