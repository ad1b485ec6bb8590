/**
 * The older `docker save` tarball format (Docker 20.10; `docker load` reads it): `manifest.json`
 * lists images, each naming its `<hex>.json` config and its `<id>/layer.tar` layers by path. Such an
 * image is pushed as the Docker Image Manifest V2 Schema 2 {@link dockerSaveManifest} writes, the
 * same bytes (so the same digest) whether the client copies the tarball or the server imports it.
 * No I/O: shared by client/image/archive.ts and registry/docker-save.ts.
 */
import type { Digest } from './digest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, DOCKER_MANIFEST } from './media-types.js';

/** One image of `docker save`'s `manifest.json`, unchecked: `Config` should be a path, `Layers` an array of paths. */
export interface DockerSaveEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

/** A file of the tarball as a blob: its digest, its size in bytes, and whether its first bytes are gzip's magic. */
export interface DockerSaveFile {
  digest: Digest;
  size: number;
  gzip: boolean;
}

/**
 * The bytes of the Docker Image Manifest V2 Schema 2 (media type `DOCKER_MANIFEST`) of an image
 * whose config is `config` and whose layers are the tarball's layer files as they are:
 * `application/vnd.docker.image.rootfs.diff.tar` (uncompressed; docker and containerd pull it and
 * detect the compression themselves) or `...tar.gzip` for a layer already gzip-compressed.
 */
export function dockerSaveManifest(config: DockerSaveFile, layers: readonly DockerSaveFile[]): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: l.gzip ? DOCKER_LAYER_GZIP : DOCKER_LAYER_TAR, size: l.size, digest: l.digest })),
  };
  return Buffer.from(JSON.stringify(manifest, null, 3));
}
