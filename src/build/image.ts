/**
 * The built image as bytes: the config (the base's, edited, `created` the build time), the manifest
 * in the base's family (OCI, or Docker schema 2 for a Docker base, as `docker build` keeps it), and
 * an image index (OCI index or Docker manifest list, same family) when several platforms were
 * built; then all of it as an {@link ImageSource} of the registry client, so pushing and writing
 * outputs are the client's one copy algorithm. JSON is written compactly with keys in a fixed
 * order: the digests are a function of the inputs.
 */
import { Readable } from 'node:stream';
import type { BlobOpener } from '../client/blob-upload.js';
import { ClientError } from '../client/errors.js';
import type { FetchedManifest, Repo } from '../client/registry-client.js';
import type { ImageSource } from '../client/image/types.js';
import { digestBytes, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.js';
import type { Platform } from '../oci/platform.js';
import type { ImageLayer } from './base.js';
import type { StageImage } from './state.js';

/** One platform's image. */
export interface BuiltImage {
  platform: Platform;
  manifest: FetchedManifest;
  config: { desc: Descriptor; bytes: Buffer };
  layers: ImageLayer[];
}

/** A build's result: the root manifest (an image, or an index of several) and every image. */
export interface BuiltResult {
  root: FetchedManifest;
  images: BuiltImage[];
}

/** `created` as Docker writes it, from seconds since the epoch. */
export function isoTime(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
}

/** The image of a finished stage. */
export function assembleImage(state: StageImage, epoch: number): BuiltImage {
  const config = { ...state.config, created: isoTime(epoch) };
  const bytes = Buffer.from(JSON.stringify(config));
  const docker = state.format === 'docker';
  const configDesc: Descriptor = { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, digest: digestBytes(bytes), size: bytes.length };
  const manifestJson = {
    schemaVersion: 2,
    mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST,
    config: configDesc,
    layers: state.layers.map((l) => l.desc),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifestJson));
  return {
    platform: state.platform,
    manifest: { digest: digestBytes(manifestBytes), mediaType: manifestJson.mediaType, bytes: manifestBytes },
    config: { desc: configDesc, bytes },
    layers: state.layers,
  };
}

/** The root of the images: the image itself for one, an index for several (`index` forces one). */
export function assembleResult(images: BuiltImage[], index = images.length > 1): BuiltResult {
  if (!index) return { root: images[0]!.manifest, images };
  const docker = images.every((i) => i.manifest.mediaType === DOCKER_MANIFEST);
  const mediaType = docker ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const json = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((i) => ({
      mediaType: i.manifest.mediaType,
      digest: i.manifest.digest,
      size: i.manifest.bytes.length,
      platform: { architecture: i.platform.architecture, os: i.platform.os, ...(i.platform.variant ? { variant: i.platform.variant } : {}) },
    })),
  };
  const bytes = Buffer.from(JSON.stringify(json));
  return { root: { digest: digestBytes(bytes), mediaType, bytes }, images };
}

/** The result as an image source for `copyImage` (blobs: configs in memory, layers local or in the base's repository). */
export function resultSource(result: BuiltResult, name: string, openRemote: (repo: Repo, desc: Descriptor) => BlobOpener): ImageSource {
  const manifests = new Map<Digest, FetchedManifest>(result.images.map((i) => [i.manifest.digest, i.manifest]));
  const blobs = new Map<Digest, { bytes?: Buffer; layer?: ImageLayer }>();
  for (const image of result.images) {
    blobs.set(image.config.desc.digest, { bytes: image.config.bytes });
    for (const layer of image.layers) if (!blobs.get(layer.desc.digest)?.layer?.open) blobs.set(layer.desc.digest, { layer });
  }
  const find = (desc: Descriptor) => {
    const blob = blobs.get(desc.digest);
    if (!blob) throw new ClientError('INVALID_IMAGE', `${name}: no blob ${desc.digest}`);
    return blob;
  };
  return {
    name,
    root: async () => result.root,
    manifest: async (desc) => {
      const m = manifests.get(desc.digest);
      if (!m) throw new ClientError('NOT_FOUND', `${name}: no manifest ${desc.digest}`);
      return m;
    },
    opener: (desc) => async (offset, length, signal) => {
      const blob = find(desc);
      if (blob.bytes) return Readable.from([blob.bytes.subarray(offset, offset + length)]);
      const layer = blob.layer!;
      if (layer.open) return layer.open(offset, length, signal);
      if (layer.from) return openRemote(layer.from, desc)(offset, length, signal);
      throw new ClientError('INVALID_IMAGE', `${name}: layer ${desc.digest} has no source`);
    },
    locationOf: (desc) => (blobs.get(desc.digest)?.layer?.open ? undefined : blobs.get(desc.digest)?.layer?.from),
  };
}
