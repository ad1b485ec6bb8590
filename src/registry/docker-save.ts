/**
 * The older `docker save` format of an imported tarball (as Docker 20.10 writes it): `manifest.json`
 * names one image's `<hex>.json` config and its `<id>/layer.tar` layers by path. {@link readDockerSave}
 * finds them among the tarball's entries; oci/docker-save.ts writes the image's Docker Image Manifest
 * V2 Schema 2 (as the client does for the same tarball).
 */
import { RegistryError } from '../oci/errors.js';
import type { DockerSaveEntry } from '../oci/docker-save.js';
import type { StoredEntry, TarballContents } from './image-tarball.js';

/** One image of `manifest.json`, its files found in the tarball. */
export interface DockerSaveImage {
  /** the path `manifest.json` names the config by, as written there */
  configPath: string;
  config: StoredEntry;
  layers: StoredEntry[];
}

/**
 * The image `manifest.json` (its bytes, `manifestBytes`) describes, its config and layers resolved
 * to the tarball's entries.
 * @throws RegistryError MANIFEST_INVALID (not JSON, not exactly one image, no `Config` path or
 *   `Layers` paths) | MANIFEST_BLOB_UNKNOWN (a path the tarball does not hold)
 */
export function readDockerSave(manifestBytes: Buffer, tarball: TarballContents): DockerSaveImage {
  const images = parseJson(manifestBytes, 'manifest.json');
  if (!Array.isArray(images) || images.length !== 1) {
    const count = Array.isArray(images) ? images.length : 0;
    throw new RegistryError('MANIFEST_INVALID', {
      message: `manifest.json describes ${count} images; import the docker save of exactly one image`,
      detail: { images: count },
    });
  }
  const image = images[0] as DockerSaveEntry;
  if (typeof image.Config !== 'string' || !Array.isArray(image.Layers) || !image.Layers.every((l) => typeof l === 'string')) {
    throw new RegistryError('MANIFEST_INVALID', { message: 'manifest.json needs "Config" (a path) and "Layers" (an array of paths)', detail: { file: 'manifest.json' } });
  }
  const config = tarball.resolve(image.Config);
  const layers = (image.Layers as string[]).map((l) => tarball.resolve(l));
  return { configPath: image.Config, config, layers };
}

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RegistryError('MANIFEST_INVALID', { message: `the tarball's ${file} is not valid JSON: ${(err as Error).message}`, detail: { file } });
  }
}
