/**
 * Base images: `FROM scratch`, or an image in any registry resolved through the registry client to
 * the platform asked (an index narrowed to its entry; a single image checked against its config),
 * with its config read and its layers described, never downloaded (they are mounted or skipped at
 * push time). Their files are unpacked only for `COPY --from` (see {@link imageTree}).
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchBlob } from '../client/blob-download.js';
import { pickPlatform } from '../client/image/copy.js';
import { registrySource } from '../client/image/registry.js';
import type { BlobOpener } from '../client/blob-upload.js';
import { ClientError } from '../client/errors.js';
import { type Repo, RegistryClient } from '../client/registry-client.js';
import { formatReference, type ImageReference } from '../oci/image-reference.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { DOCKER_MANIFEST, OCI_MANIFEST } from '../oci/media-types.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import type { ContainerConfig } from './config.js';
import { MemoryTree } from './memory-tree.js';

/** Bytes of an image config at most (they are small JSON). */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** An image config (image-spec "Image Configuration"), keys other than these kept as they are. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs?: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
  [other: string]: unknown;
}

/** One `history` entry of an image config. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
  [other: string]: unknown;
}

/** A layer of an image being built: its descriptor, and where its bytes are. */
export interface ImageLayer {
  desc: Descriptor;
  /** a repository of a registry that has it (the base's): mount from there, or read it there */
  from?: Repo;
  /** local bytes (a layer this build made) */
  open?: BlobOpener;
}

/** The manifest family of an image: OCI, or Docker schema 2. */
export type ImageFormat = 'oci' | 'docker';

/** A resolved base. */
export interface BaseImage {
  /** for messages: `docker.io/library/busybox:1.36`, `scratch` */
  name: string;
  format: ImageFormat;
  config: ImageConfig;
  layers: ImageLayer[];
}

/** The base of `FROM scratch` for `platform`: no layers, an empty config. */
export function scratch(platform: Platform): BaseImage {
  return {
    name: 'scratch',
    format: 'oci',
    config: {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
      history: [],
    },
    layers: [],
  };
}

/**
 * Resolves image `ref` for `platform` in its registry.
 * @throws ClientError NOT_FOUND (no image for the platform) | INVALID_IMAGE | the registry's error (404 when it does not exist)
 */
export async function fetchBase(client: RegistryClient, ref: ImageReference, platform: Platform, signal?: AbortSignal): Promise<BaseImage> {
  const source = registrySource(client, ref);
  const root = await pickPlatform(source, await source.root(signal), platform, signal);
  const manifest = parseManifest(root.bytes, root.mediaType);
  if (manifest.kind !== 'image') throw new ClientError('INVALID_IMAGE', `${formatReference(ref)} is not an image`);
  const json = JSON.parse(root.bytes.toString('utf8')) as { config: Descriptor; layers?: Descriptor[] };
  if (json.config.size > MAX_CONFIG_BYTES) throw new ClientError('INVALID_IMAGE', `${formatReference(ref)}: its config is larger than ${MAX_CONFIG_BYTES} bytes`);
  const repo = { registry: ref.registry, repository: ref.repository };
  const chunks: Buffer[] = [];
  for await (const chunk of fetchBlob(client, repo, json.config, { signal })) chunks.push(chunk as Buffer);
  const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ImageConfig;
  if (config.os !== platform.os || config.architecture !== platform.architecture || (platform.variant && config.variant && config.variant !== platform.variant)) {
    throw new ClientError('NOT_FOUND', `${formatReference(ref)} has no image for platform ${formatPlatform(platform)} (it is ${formatPlatform(config as Record<string, unknown>)})`);
  }
  return {
    name: formatReference(ref),
    format: root.mediaType === DOCKER_MANIFEST ? 'docker' : root.mediaType === OCI_MANIFEST ? 'oci' : 'oci',
    config,
    layers: (json.layers ?? []).map((desc) => ({ desc, from: repo })),
  };
}

/**
 * Unpacks `layers` (downloaded, verified) into a tree whose file bytes go to a new folder under `scratchDir`.
 * @param description names the tree in messages (`stage "build"`, `image busybox`)
 */
export async function imageTree(client: RegistryClient, layers: readonly ImageLayer[], description: string, scratchDir: string, signal?: AbortSignal): Promise<MemoryTree> {
  const tree = new MemoryTree(description, await mkdtemp(join(scratchDir, 'tree-')));
  for (const layer of layers) {
    const body = layer.open
      ? await layer.open(0, layer.desc.size, signal)
      : layer.from
        ? fetchBlob(client, layer.from, layer.desc, { signal })
        : undefined;
    if (!body) throw new ClientError('INVALID_IMAGE', `${description}: layer ${layer.desc.digest} has no source`);
    await tree.applyTar(body, { gzip: /gzip/.test(layer.desc.mediaType) || layer.open !== undefined, whiteouts: true, signal });
  }
  return tree;
}
