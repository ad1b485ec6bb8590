/**
 * Image tarballs as a source: an OCI archive (a tar of an OCI layout, as `skopeo copy oci-archive:`
 * and Docker 25's `docker save` write) is read through its `index.json`; the older `docker save`
 * format (`manifest.json` naming `<id>.json` configs and `<id>/layer.tar` layers, Docker 20.10) is
 * read as a Docker Image Manifest V2 Schema 2 whose layers are the tarball's layer files as they are
 * (`...rootfs.diff.tar`, or `...tar.gzip` when already compressed). Every file is hashed while the
 * tarball is indexed, so the digests pushed are those of the bytes sent.
 */
import { digestBytes, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, type Descriptor } from '../../oci/manifest.js';
import { dockerSaveManifest, type DockerSaveEntry } from '../../oci/docker-save.js';
import { DOCKER_MANIFEST } from '../../oci/media-types.js';
import type { BlobOpener } from '../blob-upload.js';
import { ClientError } from '../errors.js';
import type { FetchedManifest } from '../registry-client.js';
import { fileRange, pickManifest, type LayoutIndex } from './layout.js';
import { indexTar, type TarFile, type TarIndex } from './tar-index.js';
import type { ImageSource } from './types.js';

/**
 * The image `name` names in the tarball at `file` (its ref.name in an OCI archive, one of its
 * RepoTags in a docker save tarball), or its only image. Index with {@link ImageSource.root}; call
 * `close()` after the copy.
 * @throws ClientError INVALID_IMAGE (not an image tarball) | NOT_FOUND
 */
export function archiveSource(file: string, name?: string): ImageSource {
  let indexed: Promise<TarIndex> | undefined;
  const tarball = (signal?: AbortSignal) => (indexed ??= indexTar(file, signal));
  const byDigest = new Map<Digest, TarFile>();
  const where = `${file}`;
  const blob = async (digest: Digest): Promise<TarFile> => {
    const index = await tarball();
    const found = byDigest.get(digest) ?? index.find(`blobs/${digest.replace(':', '/')}`);
    if (!found) throw new ClientError('INVALID_IMAGE', `${where} does not hold blob ${digest}: it is not a whole image`);
    if (found.digest !== digest && digest.startsWith('sha256:')) throw new ClientError('DIGEST_MISMATCH', `${where}: ${found.path} does not hash to ${digest}`);
    return found;
  };
  return {
    name: `${file}${name ? `:${name}` : ''}`,
    async root(signal) {
      const index = await tarball(signal);
      const indexJson = index.find('index.json');
      if (indexJson) {
        const desc = pickManifest(parseJson(await readSmall(index, indexJson), 'index.json') as LayoutIndex, name, where);
        return { digest: desc.digest, mediaType: desc.mediaType, bytes: await readSmall(index, await blob(desc.digest)) };
      }
      const manifestJson = index.find('manifest.json');
      if (!manifestJson) {
        throw new ClientError('INVALID_IMAGE', `${where} holds neither index.json (OCI) nor manifest.json (docker save)`, {
          hint: 'give a docker save tarball, an OCI archive or an OCI layout folder',
        });
      }
      return dockerSaveImage(index, parseJson(await readSmall(index, manifestJson), 'manifest.json'), name, where, byDigest);
    },
    async manifest(desc: Descriptor): Promise<FetchedManifest> {
      return { digest: desc.digest, mediaType: desc.mediaType, bytes: await readSmall(await tarball(), await blob(desc.digest)) };
    },
    opener: (desc): BlobOpener => async (offset, length) => {
      const entry = await blob(desc.digest);
      return fileRange((await tarball()).file, entry.offset + offset, Math.min(length, entry.size - offset));
    },
    async close() {
      if (indexed) await (await indexed).close();
    },
  };
}

async function readSmall(index: TarIndex, entry: TarFile): Promise<Buffer> {
  if (entry.size > MAX_MANIFEST_BYTES) throw new ClientError('INVALID_IMAGE', `${entry.path} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const chunks: Buffer[] = [];
  for await (const chunk of fileRange(index.file, entry.offset, entry.size)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function dockerSaveImage(index: TarIndex, json: unknown, name: string | undefined, where: string, byDigest: Map<Digest, TarFile>): FetchedManifest {
  const images = Array.isArray(json) ? (json as DockerSaveEntry[]) : [];
  const tags = (e: DockerSaveEntry) => (Array.isArray(e.RepoTags) ? (e.RepoTags as string[]) : []);
  const image = name ? images.find((e) => tags(e).some((t) => t === name || t.endsWith(`/${name}`) || t.endsWith(`:${name}`))) : images.length === 1 ? images[0] : undefined;
  if (!image) {
    throw new ClientError('NOT_FOUND', `${where} holds ${images.length} images${name ? `, none named ${name}` : ': name one'} (${images.flatMap(tags).slice(0, 10).join(', ') || 'untagged'})`);
  }
  if (typeof image.Config !== 'string' || !Array.isArray(image.Layers)) {
    throw new ClientError('INVALID_IMAGE', `${where}: manifest.json needs "Config" and "Layers"`);
  }
  const entry = (path: string): TarFile => {
    const found = index.find(path);
    if (!found) throw new ClientError('INVALID_IMAGE', `${where}: manifest.json names ${path}, which the tarball does not hold`);
    byDigest.set(found.digest, found);
    return found;
  };
  const config = entry(image.Config);
  const layers = (image.Layers as string[]).map(entry);
  const bytes = dockerSaveManifest(config, layers);
  return { digest: digestBytes(bytes), mediaType: DOCKER_MANIFEST, bytes };
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ClientError('INVALID_IMAGE', `the tarball's ${what} is not valid JSON: ${(err as Error).message}`);
  }
}
