/**
 * Builds, from bytes, the two tarball formats `POST /admin/v1/import` reads: the old `docker save`
 * format (`manifest.json` last, `<id>/layer.tar`, `<hex>.json` configs, as Docker 20.10 writes it)
 * and an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`).
 */
import { randomBytes } from 'node:crypto';
import * as tar from 'tar-stream';
import { encodeManifest, MEDIA, sha256, type Descriptor } from './harness.js';

/** One tar entry: a file with content, or a symbolic link. */
export type TarEntry = { name: string; content: Buffer } | { name: string; symlink: string };

/** Packs `entries` in the given order into a tar archive. */
export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if ('symlink' in e) pack.entry({ name: e.name, type: 'symlink', linkname: e.symlink });
    else pack.entry({ name: e.name, size: e.content.length }, e.content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A layer: a tar archive holding one file of random bytes, and its sha256 (= its diff ID, uncompressed). */
export async function layerTar(size = 1024): Promise<{ bytes: Buffer; digest: string }> {
  const bytes = await packTar([{ name: `file-${randomBytes(4).toString('hex')}.bin`, content: randomBytes(size) }]);
  return { bytes, digest: sha256(bytes) };
}

/** What a built `docker save` tarball holds. */
export interface DockerSaveTarball {
  tarball: Buffer;
  config: { bytes: Buffer; digest: string };
  /** the layers in manifest order (a duplicate layer appears twice) */
  layers: { bytes: Buffer; digest: string }[];
}

/**
 * The old `docker save` format of an image of `layers` layers, the last one a duplicate of the first
 * stored as a symbolic link (as Docker does for a layer saved twice); `manifest.json` comes last.
 */
export async function dockerSaveTarball(layers: { bytes: Buffer; digest: string }[]): Promise<DockerSaveTarball> {
  const all = [...layers, layers[0]!];
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: all.map((l) => l.digest) } }),
  );
  const configDigest = sha256(config);
  const ids = all.map(() => randomBytes(32).toString('hex'));
  const entries: TarEntry[] = [];
  layers.forEach((l, i) => {
    entries.push({ name: `${ids[i]}/VERSION`, content: Buffer.from('1.0') });
    entries.push({ name: `${ids[i]}/json`, content: Buffer.from(JSON.stringify({ id: ids[i] })) });
    entries.push({ name: `${ids[i]}/layer.tar`, content: l.bytes });
  });
  entries.push({ name: `${ids.at(-1)}/layer.tar`, symlink: `../${ids[0]}/layer.tar` });
  entries.push({ name: `${configDigest.slice('sha256:'.length)}.json`, content: config });
  entries.push({ name: 'repositories', content: Buffer.from('{}') });
  entries.push({
    name: 'manifest.json',
    content: Buffer.from(JSON.stringify([{ Config: `${configDigest.slice('sha256:'.length)}.json`, RepoTags: ['example:1'], Layers: ids.map((id) => `${id}/layer.tar`) }])),
  });
  return { tarball: await packTar(entries), config: { bytes: config, digest: configDigest }, layers: all };
}

/** An OCI image layout's blob entry for `bytes`. */
export function ociBlob(bytes: Buffer): TarEntry {
  return { name: `blobs/sha256/${sha256(bytes).slice('sha256:'.length)}`, content: bytes };
}

/** An OCI image manifest over `config` and `layers` (uncompressed OCI layers), encoded as bytes. */
export function ociManifest(config: Buffer, layers: Buffer[]): { body: Buffer; descriptor: Descriptor } {
  const body = encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
  });
  return { body, descriptor: { mediaType: MEDIA.ociManifest, digest: sha256(body), size: body.length } };
}

/** `index.json` of an OCI image layout naming `descriptor`. */
export function ociIndexJson(...descriptors: Descriptor[]): TarEntry {
  return { name: 'index.json', content: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: descriptors })) };
}

/** The `oci-layout` file. */
export const OCI_LAYOUT: TarEntry = { name: 'oci-layout', content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') };
