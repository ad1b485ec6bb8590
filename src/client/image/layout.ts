/**
 * OCI image layouts (image-spec "Image Layout": `oci-layout`, `index.json`, `blobs/<alg>/<hex>`)
 * as a source and a sink. The sink writes a new layout into `<dir>.partial-<random>` and renames
 * it into place at commit (nothing partial at the destination); into an existing layout it adds
 * blobs (content-addressed, each renamed into place once verified) and replaces `index.json`
 * atomically at commit, with the image's entry under its `org.opencontainers.image.ref.name`.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { digestBytes, parseDigest, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, type Descriptor } from '../../oci/manifest.js';
import { OCI_INDEX, REF_NAME_ANNOTATION } from '../../oci/media-types.js';
import type { BlobOpener, UploadResult } from '../blob-upload.js';
import { ClientError } from '../errors.js';
import type { FetchedManifest } from '../registry-client.js';
import { writeBlobFile, type BlobFileOptions } from './blob-file.js';
import type { ImageSink, ImageSource, PutBlobOptions } from './types.js';

/** The path of blob `digest` inside a layout. */
export function blobPath(dir: string, digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, 'blobs', algorithm, hex);
}

/** A layout's `index.json`. */
export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/**
 * Reads a layout's `index.json`.
 * @throws ClientError INVALID_IMAGE when `dir` is not an OCI layout
 */
export async function readLayoutIndex(dir: string): Promise<LayoutIndex> {
  try {
    const layout = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown };
    if (typeof layout.imageLayoutVersion !== 'string') throw new Error('no imageLayoutVersion');
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as LayoutIndex;
    if (!Array.isArray(index.manifests)) throw new Error('index.json has no manifests');
    return index;
  } catch (err) {
    throw new ClientError('INVALID_IMAGE', `${dir} is not an OCI image layout (${(err as Error).message})`, {
      cause: err,
      hint: 'give an OCI layout folder (oci-layout, index.json, blobs/), an OCI archive or a docker save tarball',
    });
  }
}

/** Picks the manifest `tag` names in an index (its ref.name), or the only one when no tag is given. @throws ClientError NOT_FOUND */
export function pickManifest(index: LayoutIndex, tag: string | undefined, where: string): Descriptor {
  const names = index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter((n): n is string => !!n);
  if (tag !== undefined) {
    const found = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
    if (found) return found;
    throw new ClientError('NOT_FOUND', `${where} has no image named ${tag}${names.length ? ` (it has: ${names.slice(0, 10).join(', ')})` : ''}`);
  }
  if (index.manifests.length === 1) return index.manifests[0]!;
  throw new ClientError('NOT_FOUND', `${where} holds ${index.manifests.length} images: name one with ${where}:<name>${names.length ? ` (${names.slice(0, 10).join(', ')})` : ''}`);
}

/** Reads a small blob (a manifest or config) of a layout, verified. */
async function readManifestBlob(dir: string, desc: Descriptor): Promise<FetchedManifest> {
  let bytes: Buffer;
  try {
    if (desc.size > MAX_MANIFEST_BYTES) throw new Error(`larger than ${MAX_MANIFEST_BYTES} bytes`);
    bytes = await readFile(blobPath(dir, desc.digest));
  } catch (err) {
    throw new ClientError('INVALID_IMAGE', `${dir}: cannot read manifest ${desc.digest}: ${(err as Error).message}`, { cause: err });
  }
  if (digestBytes(bytes, parseDigest(desc.digest).algorithm) !== desc.digest) {
    throw new ClientError('DIGEST_MISMATCH', `${dir}: blobs/${desc.digest.replace(':', '/')} does not hash to its name`);
  }
  return { digest: desc.digest, mediaType: desc.mediaType, bytes };
}

/** Reads `length` bytes from `offset` of a file (an empty stream for 0 bytes). */
export function fileRange(path: string, offset: number, length: number): Readable {
  if (length === 0) return Readable.from([]);
  return createReadStream(path, { start: offset, end: offset + length - 1, highWaterMark: 1024 * 1024 });
}

/** The image `tag` names in the layout at `dir` (the only image when `tag` is undefined). */
export function layoutSource(dir: string, tag?: string): ImageSource {
  const name = `oci:${dir}${tag ? `:${tag}` : ''}`;
  return {
    name,
    async root() {
      return readManifestBlob(dir, pickManifest(await readLayoutIndex(dir), tag, `oci:${dir}`));
    },
    manifest: async (desc) => readManifestBlob(dir, desc),
    opener: (desc): BlobOpener => async (offset, length) => fileRange(blobPath(dir, desc.digest), offset, length),
  };
}

/** Options of {@link layoutSink}. */
export type LayoutSinkOptions = Pick<BlobFileOptions, 'parallelThreshold' | 'parts' | 'partSize'>;

/** An OCI layout at `dir` as a destination; the root manifest is named `tag` in index.json when given. */
export function layoutSink(dir: string, tag: string | undefined, options: LayoutSinkOptions = {}): ImageSink {
  let target: string | undefined; // where blobs go: dir itself, or a temporary sibling
  let root: Descriptor | undefined;
  let preparing: Promise<string> | undefined;
  const prepare = (): Promise<string> =>
    (preparing ??= (async () => {
      const existing = await stat(dir).catch(() => undefined);
      if (existing) {
        await readLayoutIndex(dir).catch((err: unknown) => {
          throw new ClientError('INVALID_IMAGE', `${dir} exists and is not an OCI layout: choose a new path`, { cause: err });
        });
        target = dir;
      } else {
        target = `${dir}.partial-${randomBytes(4).toString('hex')}`;
        // the parent with `recursive`, the folder itself without: Node's recursive mkdir spins forever
        // on a path it cannot create below an existing folder (ENOENT under /proc)
        await mkdir(dirname(target), { recursive: true });
        await mkdir(target);
      }
      return target;
    })());
  const putBytes = async (digest: Digest, bytes: Buffer): Promise<void> => {
    const path = blobPath(await prepare(), digest);
    await mkdir(join(path, '..'), { recursive: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}.partial`;
    await writeFile(temp, bytes);
    await rename(temp, path);
  };
  return {
    name: `oci:${dir}${tag ? `:${tag}` : ''}`,
    async putBlob(desc: Descriptor, open: BlobOpener, o: PutBlobOptions): Promise<UploadResult> {
      const path = blobPath(await prepare(), desc.digest);
      if ((await stat(path).catch(() => undefined))?.size === desc.size) {
        o.onProgress?.(desc.size);
        return 'exists';
      }
      await mkdir(join(path, '..'), { recursive: true });
      await writeBlobFile(path, desc, open, { ...options, signal: o.signal, onProgress: o.onProgress });
      return 'uploaded';
    },
    async putManifest(m: FetchedManifest, o: { root?: boolean }): Promise<void> {
      await putBytes(m.digest, m.bytes);
      if (o.root) root = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, ...(tag ? { annotations: { [REF_NAME_ANNOTATION]: tag } } : {}) };
    },
    async commit(): Promise<void> {
      const out = await prepare();
      const index: LayoutIndex = out === dir ? await readLayoutIndex(dir) : { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      const name = root?.annotations?.[REF_NAME_ANNOTATION];
      index.manifests = index.manifests.filter((m) => (name ? m.annotations?.[REF_NAME_ANNOTATION] !== name : m.digest !== root?.digest));
      if (root) index.manifests.push(root);
      await writeFile(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      const temp = join(out, `index.json.${randomBytes(4).toString('hex')}.partial`);
      await writeFile(temp, JSON.stringify(index));
      await rename(temp, join(out, 'index.json'));
      if (out !== dir) await rename(out, dir);
    },
    async abort(): Promise<void> {
      if (target && target !== dir) await rm(target, { recursive: true, force: true });
    },
  };
}
