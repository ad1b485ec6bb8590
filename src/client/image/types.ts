/**
 * Where images come from and go to (containers/image's `ImageSource` / `ImageDestination`, ggcr's
 * adapters per source): a registry, an OCI image layout folder, an OCI archive, a `docker save`
 * tarball. {@link copyImage} moves an image between any two, so push, pull, copy and the build
 * helper's outputs are one algorithm.
 */
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import type { BlobOpener, UploadResult } from '../blob-upload.js';
import type { FetchedManifest } from '../registry-client.js';

/** An image source: its root manifest, manifests by descriptor, blobs by range. */
export interface ImageSource {
  /** for messages, e.g. `oci:./out:1.0` or `localhost:5000/team/app:1.0` */
  readonly name: string;
  /** The manifest the source names (an image or an index). @throws ClientError NOT_FOUND | INVALID_IMAGE */
  root(signal?: AbortSignal): Promise<FetchedManifest>;
  /** A manifest by its descriptor (an index's child, a referrer), digest verified. */
  manifest(desc: Descriptor, signal?: AbortSignal): Promise<FetchedManifest>;
  /** Random access to a blob's bytes (re-opened to resume or to pull ranges in parallel). */
  opener(desc: Descriptor): BlobOpener;
  /** The referrers of manifest `subject` (only registries have them). */
  referrers?(subject: Digest, signal?: AbortSignal): Promise<Descriptor[]>;
  /** Same registry and repository name for a mount, when the source is a registry. */
  readonly location?: { registry: string; repository: string };
  /**
   * Where one blob can be mounted from, when the source's blobs live in several repositories (an
   * image built on a base: the base's layers are in the base's repository); wins over `location`.
   */
  locationOf?(desc: Descriptor): { registry: string; repository: string } | undefined;
  /** Releases what the source holds (temporary files). */
  close?(): Promise<void>;
}

/** Options of {@link ImageSink.putBlob}. */
export interface PutBlobOptions {
  signal?: AbortSignal;
  /** bytes of this blob done so far */
  onProgress?: (done: number) => void;
  /** where the source is, for a cross-repository mount */
  from?: { registry: string; repository: string };
}

/** An image destination. Nothing is visible at it before {@link ImageSink.commit}, where the medium allows. */
export interface ImageSink {
  readonly name: string;
  /** Makes blob `desc` present, reading `open` only when needed. */
  putBlob(desc: Descriptor, open: BlobOpener, options: PutBlobOptions): Promise<UploadResult>;
  /** Stores a manifest (children before parents); the `root` one under the sink's tag, others by digest. */
  putManifest(manifest: FetchedManifest, options: { root?: boolean; signal?: AbortSignal }): Promise<void>;
  /** Makes the result visible (renames a temporary folder or archive into place). */
  commit(): Promise<void>;
  /** Removes what was written (temporary files); never throws. */
  abort(): Promise<void>;
}
