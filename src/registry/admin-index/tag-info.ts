/**
 * What one manifest of a repository is, as the admin API's tag rows show it (tag-rows.ts): its media
 * type, the platforms it runs on, and its size. Immutable for a digest, so kept by digest.
 *
 * The size is the bytes of the distinct objects the manifest reaches: the manifest, its config and
 * layers; for an image index, the index and, for each child stored in the repository, the child
 * manifest, its config and its layers (a blob shared by several children counted once). Platforms:
 * an index's `manifests[].platform`; an image's config `os`/`architecture`/`variant`; none for an artifact.
 */
import { LRUCache } from 'lru-cache';
import { isDigest, parseDigest, type Digest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { manifestReferences } from '../../oci/manifest.js';
import type { RepositoryName } from '../../oci/reference.js';
import type { StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import type { LimitFunction } from 'p-limit';
import type { ManifestStore, StoredManifest } from '../manifests.js';
import { readBlobSize } from './scan.js';
import type { IndexState } from './state.js';

/** A platform an image runs on. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** What a manifest is (see the module comment). */
export interface ManifestInfo {
  digest: Digest;
  mediaType: string;
  platforms: Platform[];
  /** bytes */
  size: number;
}

/** Manifests whose media type, platforms and size are kept. */
const INFOS_KEPT = 20_000;
/** The largest config read for its platform, bytes. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The {@link ManifestInfo} of manifests, read from storage once per digest and kept (see the module comment). */
export class ManifestInfos {
  readonly #infos = new LRUCache<string, ManifestInfo>({ max: INFOS_KEPT });

  constructor(
    private readonly driver: StorageDriver,
    private readonly manifests: ManifestStore,
  ) {}

  /**
   * What manifest `digest` of `name` is; undefined when it is not in the repository.
   * @param read runs each storage read (the caller's concurrency bound)
   */
  async of(state: IndexState, name: RepositoryName, digest: Digest, read: LimitFunction): Promise<ManifestInfo | undefined> {
    const key = `${name}@${digest}`;
    const cached = this.#infos.get(key);
    if (cached) return cached;
    const measured = await this.#measure(state, name, digest, read, true);
    if (!measured) return undefined;
    const { manifest, isIndex, size } = measured;
    const info = { digest, mediaType: manifest.mediaType, platforms: await this.#platforms(state, manifest.body, isIndex, read), size };
    this.#infos.set(key, info);
    return info;
  }

  /**
   * The size of manifest `digest` of `name` (bytes, see the module comment), for a sort over a
   * repository too large for its rows to be kept: neither the manifest's bytes nor its info are kept,
   * and its config is not read (platforms are not needed to sort).
   * @returns undefined when it is not in the repository
   */
  async sizeOf(state: IndexState, name: RepositoryName, digest: Digest, read: LimitFunction): Promise<number | undefined> {
    return this.#infos.get(`${name}@${digest}`)?.size ?? (await this.#measure(state, name, digest, read, false))?.size;
  }

  /** The manifest, whether it is an index, and the bytes of what it reaches; undefined when it is not in the repository. */
  async #measure(state: IndexState, name: RepositoryName, digest: Digest, read: LimitFunction, keep: boolean): Promise<{ manifest: StoredManifest; isIndex: boolean; size: number } | undefined> {
    const manifest = await read(() => this.manifests.get(name, { digest: parseDigest(digest) }, { keep })).catch(absent);
    if (!manifest) return undefined;
    const refs = manifestReferences(manifest.body) ?? { blobs: [], children: [] };
    const reached = new Set<Digest>([digest, ...refs.blobs]);
    for (const child of refs.children) {
      const body = await read(() => this.manifests.get(name, { digest: parseDigest(child) }, { keep })).catch(absent);
      if (!body) continue;
      reached.add(child);
      for (const b of manifestReferences(body.body)?.blobs ?? []) reached.add(b);
    }
    const sizes = await Promise.all([...reached].map((d) => this.#sizeOf(state, d, read)));
    return { manifest, isIndex: refs.children.length > 0, size: sizes.reduce<number>((a, b) => a + (b ?? 0), 0) };
  }

  async #sizeOf(state: IndexState, d: Digest, read: LimitFunction): Promise<number | undefined> {
    return state.sizeOf(d) ?? (await readBlobSize(this.driver, read, d));
  }

  /** An index's child platforms, or an image's from its config; [] for anything else. */
  async #platforms(state: IndexState, body: Buffer, isIndex: boolean, read: LimitFunction): Promise<Platform[]> {
    let json: { manifests?: { platform?: unknown }[]; config?: { digest?: unknown } };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      return [];
    }
    if (isIndex) return (json.manifests ?? []).map((m) => platformOf(m.platform)).filter((p): p is Platform => p !== undefined);
    const config = typeof json.config?.digest === 'string' ? json.config.digest : undefined;
    if (!config || !isDigest(config) || ((await this.#sizeOf(state, config, read)) ?? Infinity) > MAX_CONFIG_BYTES) return [];
    try {
      const platform = platformOf(JSON.parse((await read(() => this.driver.getContent(layout.blobData(config)))).toString('utf8')));
      return platform ? [platform] : [];
    } catch {
      return []; // not JSON, or gone: no platform to show
    }
  }
}

/** `{os, architecture, variant?}` of an object that has them as strings, else undefined. */
function platformOf(value: unknown): Platform | undefined {
  const p = value as { os?: unknown; architecture?: unknown; variant?: unknown } | null;
  if (typeof p?.os !== 'string' || typeof p.architecture !== 'string') return undefined;
  return typeof p.variant === 'string' ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

/** A rejection handler mapping MANIFEST_UNKNOWN (deleted since it was listed) to undefined. */
export function absent(err: unknown): undefined {
  if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined;
  throw err;
}
