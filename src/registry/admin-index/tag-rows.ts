/**
 * `GET /admin/v1/repositories/{name}/tags`: every tag of a repository with its digest, media type,
 * platforms, size and push time, filtered, sorted and paginated (listing.ts). A repository's rows are
 * read from storage once and kept until an event concerns the repository (the admin index's
 * per-repository generation), within a budget of rows; what each manifest is (media type, platforms,
 * size) is kept by digest, immutable.
 *
 * The size of a tag is the bytes of the distinct objects it reaches: the manifest, its config and
 * layers; for an image index, the index and, for each child stored in the repository, the child
 * manifest, its config and its layers (a blob shared by several children counted once). Platforms:
 * an index's `manifests[].platform`; an image's config `os`/`architecture`/`variant`; none for an artifact.
 */
import { LRUCache } from 'lru-cache';
import { isDigest, parseDigest, type Digest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { manifestReferences } from '../../oci/manifest.js';
import { isTag, type RepositoryName, type Tag } from '../../oci/reference.js';
import type { StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import { limiter } from '../limit.js';
import type { ManifestStore } from '../manifests.js';
import type { AdminIndex } from './admin-index.js';
import { compareKeys, page, type ListPage, type ListQuery } from './listing.js';
import { readBlobSize } from './scan.js';
import type { IndexState } from './state.js';

/** A platform an image runs on. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** What the admin API reports of one tag. */
export interface TagSummary {
  tag: Tag;
  digest: Digest;
  /** the manifest's media type, as pushed */
  mediaType: string;
  platforms: Platform[];
  /** bytes (see the module comment) */
  size: number;
  /** when the tag was pushed (ISO 8601) */
  pushedAt: string;
}

/** The keys a tag list sorts by; the first is the default. */
export const TAG_SORTS = ['name', 'pushedAt', 'size'] as const;

/** A key of {@link TAG_SORTS}. */
export type TagSort = (typeof TAG_SORTS)[number];

interface ManifestInfo {
  digest: Digest;
  mediaType: string;
  platforms: Platform[];
  size: number;
}

interface Row {
  tag: Tag;
  pushedAt: number;
  pushedAtText: string;
  info: ManifestInfo;
}

/** Rows kept for all repositories together (about 100 bytes each). */
const ROWS_BUDGET = 100_000;
/** Manifests whose media type, platforms and size are kept. */
const INFOS_KEPT = 20_000;
/** The largest config read for its platform, bytes. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The tag rows of repositories (see the module comment). */
export class TagRows {
  readonly #read = limiter(16);
  readonly #infos = new LRUCache<string, ManifestInfo>({ max: INFOS_KEPT });
  readonly #rows = new LRUCache<RepositoryName, { generation: string; rows: Row[] }>({ maxSize: ROWS_BUDGET, sizeCalculation: (v) => Math.max(1, v.rows.length) });

  constructor(
    private readonly driver: StorageDriver,
    private readonly manifests: ManifestStore,
    private readonly index: AdminIndex,
  ) {}

  /** One page of the tags of repository `name`. */
  async list(name: RepositoryName, query: ListQuery<TagSort>): Promise<ListPage<TagSummary>> {
    let rows = await this.#all(name, await this.index.ready());
    if (query.q !== undefined) rows = rows.filter((r) => r.tag.includes(query.q!));
    const key = (r: Row): number | string => (query.sort === 'name' ? r.tag : query.sort === 'size' ? r.info.size : r.pushedAt);
    if (query.sort !== 'name' || query.order === 'desc') rows = [...rows].sort((a, b) => compareKeys(query.order, key(a), a.tag, key(b), b.tag));
    const cut = page(rows, query, (r) => r.tag, key);
    return {
      ...cut,
      items: cut.items.map((r) => ({ tag: r.tag, digest: r.info.digest, mediaType: r.info.mediaType, platforms: r.info.platforms, size: r.info.size, pushedAt: r.pushedAtText })),
    };
  }

  /** Every row of `name`, by tag; from the cache while no change concerned the repository. */
  async #all(name: RepositoryName, state: IndexState): Promise<Row[]> {
    const generation = this.index.generationOf(name);
    const cached = this.#rows.get(name);
    if (cached?.generation === generation) return cached.rows;
    const tags = (await this.driver.list(layout.tags(name))).filter(isTag);
    const rows = await Promise.all(tags.map((t) => this.#row(state, name, t)));
    const found = rows.filter((r): r is Row => r !== undefined);
    if (found.length <= ROWS_BUDGET / 2) this.#rows.set(name, { generation, rows: found });
    return found;
  }

  /** The row of tag `tag`; undefined when it was deleted since the listing or its manifest is gone. */
  async #row(state: IndexState, name: RepositoryName, tag: Tag): Promise<Row | undefined> {
    const link = await this.#read(() => this.manifests.resolveTag(name, tag)).catch(absent);
    if (!link) return undefined;
    const info = await this.#info(state, name, link.digest);
    if (!info) return undefined;
    const t = Date.parse(link.pushedAt);
    return { tag, pushedAt: Number.isNaN(t) ? 0 : t, pushedAtText: link.pushedAt, info };
  }

  /** What manifest `digest` of `name` is; undefined when it is not in the repository. */
  async #info(state: IndexState, name: RepositoryName, digest: Digest): Promise<ManifestInfo | undefined> {
    const key = `${name}@${digest}`;
    const cached = this.#infos.get(key);
    if (cached) return cached;
    const manifest = await this.#read(() => this.manifests.get(name, { digest: parseDigest(digest) })).catch(absent);
    if (!manifest) return undefined;
    const refs = manifestReferences(manifest.body) ?? { blobs: [], children: [] };
    const reached = new Set<Digest>([digest, ...refs.blobs]);
    for (const child of refs.children) {
      const body = await this.#read(() => this.manifests.get(name, { digest: parseDigest(child) })).catch(absent);
      if (!body) continue;
      reached.add(child);
      for (const b of manifestReferences(body.body)?.blobs ?? []) reached.add(b);
    }
    const sizes = await Promise.all([...reached].map((d) => this.#sizeOf(state, d)));
    const size = sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
    const info = { digest, mediaType: manifest.mediaType, platforms: await this.#platforms(state, manifest.body, refs.children.length > 0), size };
    this.#infos.set(key, info);
    return info;
  }

  async #sizeOf(state: IndexState, d: Digest): Promise<number | undefined> {
    return state.sizeOf(d) ?? (await readBlobSize(this.driver, this.#read, d));
  }

  /** An index's child platforms, or an image's from its config; [] for anything else. */
  async #platforms(state: IndexState, body: Buffer, isIndex: boolean): Promise<Platform[]> {
    let json: { manifests?: { platform?: unknown }[]; config?: { digest?: unknown } };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      return [];
    }
    if (isIndex) return (json.manifests ?? []).map((m) => platformOf(m.platform)).filter((p): p is Platform => p !== undefined);
    const config = typeof json.config?.digest === 'string' ? json.config.digest : undefined;
    if (!config || !isDigest(config) || ((await this.#sizeOf(state, config)) ?? Infinity) > MAX_CONFIG_BYTES) return [];
    try {
      const platform = platformOf(JSON.parse((await this.#read(() => this.driver.getContent(layout.blobData(config)))).toString('utf8')));
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
function absent(err: unknown): undefined {
  if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined;
  throw err;
}
