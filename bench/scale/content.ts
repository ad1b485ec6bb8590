/**
 * The content of the scale bench's registries, generated deterministically so that Wharf and CNCF
 * Distribution get the same images in their own storage layouts (see layouts.ts): many repositories
 * of a few tags each, or one repository of many tags.
 *
 * A repository of the wide registry (index `i`) holds, like a CI-built service after a while:
 * - ten tags `v1`..`v10`, each an OCI image manifest with a config of its own and two layers: a base
 *   layer shared with every hundredth repository, and the repository's own layer, shared by its images;
 * - one untagged manifest (an older build whose tag moved on), with its own config: garbage for a
 *   collection that deletes untagged manifests;
 * - one orphan blob (an upload whose manifest never came): garbage for every collection.
 * That is 24 blobs per repository (plus 100 base layers), 14 blob links, 11 manifests and 10 tags.
 *
 * The tall registry is one repository `big/app` of `tags` tags, each an image with its own config,
 * a base layer (one of 100) and a layer shared by every thousandth image; one image in a hundred also
 * has an untagged twin, and one in a hundred an orphan blob.
 */
import { createHash } from 'node:crypto';

/** The OCI media types the content uses. */
export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A blob: its digest and bytes. */
export interface Blob {
  digest: string;
  bytes: Buffer;
}

/** A manifest: a blob with its media type. */
export interface Manifest extends Blob {
  mediaType: string;
}

/** One repository's content, split into what stays and what a collection deletes. */
export interface RepositoryContent {
  name: string;
  /** blobs (configs and layers) the repository links and its kept manifests reference */
  blobs: Blob[];
  /** manifests a tag points at */
  manifests: Manifest[];
  /** tag name, manifest digest, push time (ms since the epoch) */
  tags: { tag: string; digest: string; pushedAt: number }[];
  /** what `gc --delete-untagged` deletes: untagged manifests, the configs only they reference, orphan blobs */
  garbage: {
    manifests: Manifest[];
    /** configs only the untagged manifests reference */
    blobs: Blob[];
    /** linked blobs no manifest references */
    orphans: Blob[];
    /** for each untagged manifest, the tag that pointed at it before it moved on (Distribution keeps it in the tag's index) */
    formerTags: string[];
  };
}

/** The push times start here (2024-01-01T00:00:00Z). */
const EPOCH = Date.UTC(2024, 0, 1);

function blob(bytes: Buffer): Blob {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
}

/** `text` repeated to `size` bytes: distinct, compressible-looking filler. */
function filler(text: string, size: number): Buffer {
  return Buffer.from(text.repeat(Math.ceil(size / text.length)).slice(0, size));
}

/** Base layer `k` (of 100), shared by many repositories. */
export function baseLayer(k: number): Blob {
  return blob(filler(`base layer ${k}\n`, 2048));
}

function config(nonce: string, layers: Blob[]): Blob {
  return blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/app'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        history: [{ created_by: nonce }],
      }),
    ),
  );
}

function manifest(cfg: Blob, layers: Blob[]): Manifest {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.bytes.length },
      layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.bytes.length })),
    }),
  );
  return { ...blob(bytes), mediaType: MEDIA.manifest };
}

/** The name of repository `i` of the wide registry: `t<i mod 100>/app<i>` (nested names, as teams have). */
export function wideName(i: number): string {
  return `t${String(i % 100).padStart(2, '0')}/app${i}`;
}

/** Tags per repository of the wide registry. */
export const WIDE_TAGS = 10;

/** Repository `i` of the wide registry. */
export function wideRepository(i: number): RepositoryContent {
  const name = wideName(i);
  const base = baseLayer(i % 100);
  const own = blob(filler(`layer of ${name}\n`, 1024));
  const blobs: Blob[] = [base, own];
  const manifests: Manifest[] = [];
  const tags: RepositoryContent['tags'] = [];
  for (let j = 0; j < WIDE_TAGS; j++) {
    const cfg = config(`${name} build ${j}`, [base, own]);
    const m = manifest(cfg, [base, own]);
    blobs.push(cfg);
    manifests.push(m);
    tags.push({ tag: `v${j + 1}`, digest: m.digest, pushedAt: EPOCH + i * 60_000 + j * 1000 });
  }
  const oldConfig = config(`${name} old build`, [base, own]);
  return {
    name,
    blobs,
    manifests,
    tags,
    garbage: {
      manifests: [manifest(oldConfig, [base, own])],
      blobs: [oldConfig],
      orphans: [blob(filler(`orphan of ${name}\n`, 512))],
      formerTags: ['v1'],
    },
  };
}

/** The repository of the tall registry. */
export const TALL_NAME = 'big/app';

/**
 * The tall registry's repository, `tags` tags, in parts of `part` images so no more than one part is
 * in memory at once.
 */
export function* tallRepository(tags: number, part = 1000): Generator<RepositoryContent> {
  for (let start = 0; start < tags; start += part) {
    const content: RepositoryContent = { name: TALL_NAME, blobs: [], manifests: [], tags: [], garbage: { manifests: [], blobs: [], orphans: [], formerTags: [] } };
    for (let k = start; k < Math.min(tags, start + part); k++) {
      const base = baseLayer(k % 100);
      const shared = blob(filler(`layer ${Math.floor(k / 1000)} of ${TALL_NAME}\n`, 1024));
      const cfg = config(`${TALL_NAME} build ${k}`, [base, shared]);
      const m = manifest(cfg, [base, shared]);
      if (k % 1000 === 0 || k === start) content.blobs.push(shared);
      if (k < 100 || k === start) content.blobs.push(base);
      content.blobs.push(cfg);
      content.manifests.push(m);
      const tag = `t${String(k).padStart(6, '0')}`;
      content.tags.push({ tag, digest: m.digest, pushedAt: EPOCH + k * 1000 });
      if (k % 100 === 50) {
        const old = config(`${TALL_NAME} old build ${k}`, [base, shared]);
        content.garbage.manifests.push(manifest(old, [base, shared]));
        content.garbage.blobs.push(old);
        content.garbage.formerTags.push(tag);
      }
      if (k % 100 === 75) content.garbage.orphans.push(blob(filler(`orphan ${k} of ${TALL_NAME}\n`, 512)));
    }
    yield content;
  }
}
