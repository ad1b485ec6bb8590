/** A registry repository as an {@link ImageSource} and an {@link ImageSink}. */
import type { Digest } from '../../oci/digest.js';
import { formatReference, type ImageReference } from '../../oci/image-reference.js';
import type { Descriptor } from '../../oci/manifest.js';
import { rangeStream } from '../blob-download.js';
import { uploadBlob, type BlobOpener, type UploadResult } from '../blob-upload.js';
import { listReferrers } from '../listings.js';
import type { FetchedManifest, RegistryClient } from '../registry-client.js';
import type { ImageSink, ImageSource, PutBlobOptions } from './types.js';

/** The image `ref` names in its registry. */
export function registrySource(client: RegistryClient, ref: ImageReference): ImageSource {
  const repo = { registry: ref.registry, repository: ref.repository };
  return {
    name: formatReference(ref),
    location: repo,
    root: (signal) => client.getManifest(ref, { signal }),
    manifest: (desc, signal) => client.getManifest({ ...ref, tag: undefined, digest: desc.digest }, { signal }),
    opener: (desc): BlobOpener => async (offset, length, signal) => rangeStream(client, repo, desc, offset, length, { signal }),
    referrers: (subject: Digest, signal) => listReferrers(client, repo, subject, { signal }),
  };
}

/** The repository of `ref` as a destination; the root manifest goes under `ref`'s tag (or by digest). */
export function registrySink(client: RegistryClient, ref: ImageReference): ImageSink {
  const repo = { registry: ref.registry, repository: ref.repository };
  return {
    name: formatReference(ref),
    putBlob(desc: Descriptor, open: BlobOpener, o: PutBlobOptions): Promise<UploadResult> {
      const mountFrom = o.from && o.from.registry === ref.registry && o.from.repository !== ref.repository ? o.from.repository : undefined;
      return uploadBlob(client, repo, desc, open, { signal: o.signal, onProgress: o.onProgress, mountFrom });
    },
    async putManifest(m: FetchedManifest, o: { root?: boolean; signal?: AbortSignal }): Promise<void> {
      await client.putManifest(repo, (o.root ? ref.tag : undefined) ?? m.digest, m.bytes, m.mediaType, { signal: o.signal });
    },
    commit: async () => undefined,
    abort: async () => undefined,
  };
}
