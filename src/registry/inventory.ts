/**
 * The inventory the admin API reports: per repository its tags, manifests and bytes, and per tag
 * the image it points at and that image's size. Read-only; knows nothing of HTTP.
 *
 * Bytes are counted over the objects a repository's manifests reference, each distinct digest once:
 * every manifest revision's own bytes, and the config and layers each image manifest names (an image
 * index's children are revisions of the repository too, so they are counted as such). Blob sizes are
 * the stored sizes, a manifest's too (its bytes are stored as a blob); an object missing from the store counts 0.
 * Blob links that no manifest references (an upload whose manifest never came) are not counted.
 *
 * Every storage read goes through one limiter per inventory ({@link STORAGE_READS} at a time), however
 * many repositories, tags and manifests a request reaches: a registry of 10,000 repositories must not
 * open 10,000 files at once.
 */
import { ALGORITHMS, isDigest, parseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { manifestReferences, type ManifestRefs } from '../oci/manifest.js';
import { parseTag, type RepositoryName, type Tag } from '../oci/reference.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import type { BlobStore } from './blobs.js';
import type { Catalog } from './catalog.js';
import { limiter } from './limit.js';
import type { ManifestStore, TagLink } from './manifests.js';

/** Bytes of a repository, split by whether another repository references the same objects. */
export interface RepositoryBytes {
  /** bytes of the distinct objects referenced by this repository's manifests and by no other repository's */
  unique: number;
  /** bytes of the distinct objects referenced by this repository's manifests and by at least one other repository's */
  shared: number;
  /** unique + shared: what this repository references */
  total: number;
}

/** What `GET /admin/v1/repositories` reports of one repository. */
export interface RepositorySummary {
  name: RepositoryName;
  tags: number;
  /** manifest revisions (tagged or not, image indexes' children and referrers included) */
  manifests: number;
  bytes: RepositoryBytes;
  /** the newest `pushedAt` of the repository's tags (ISO 8601), null when it has no tag */
  lastPush: string | null;
}

/** What `GET /admin/v1/repositories/{name}/tags` reports of one tag. */
export interface TagSummary {
  tag: Tag;
  digest: Digest;
  /** the manifest's media type, as pushed */
  mediaType: string;
  /**
   * bytes of the distinct objects the tag reaches: the manifest, its config and layers; for an image
   * index, the index and, for each child stored in the repository, the child manifest, its config
   * and its layers (a blob shared by several children counted once)
   */
  size: number;
  /** when the tag was pushed (ISO 8601) */
  pushedAt: string;
}

/** How many storage reads one inventory keeps in flight. */
const STORAGE_READS = 16;

/**
 * Reads the inventory. One instance per request: it caches manifest parses and blob sizes for its
 * own lifetime only (manifests and blobs are immutable by digest; their presence is not).
 */
export class Inventory {
  readonly #nodes = new Map<string, Promise<ManifestRefs | undefined>>();
  readonly #sizes = new Map<Digest, Promise<number>>();
  readonly #read = limiter(STORAGE_READS);

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly manifests: ManifestStore,
    private readonly catalog: Catalog,
  ) {}

  /**
   * Summaries of `names` (each must exist); reading every repository's manifests, because whether
   * bytes are shared depends on all of them.
   */
  async repositories(names: readonly RepositoryName[]): Promise<RepositorySummary[]> {
    const all = await this.catalog.repositories();
    const referenced = new Map<RepositoryName, Set<Digest>>();
    await Promise.all(all.map(async (name) => referenced.set(name, await this.referencedBy(name))));
    const holders = new Map<Digest, number>();
    for (const digests of referenced.values()) for (const d of digests) holders.set(d, (holders.get(d) ?? 0) + 1);

    return Promise.all(
      names.map(async (name) => {
        const digests = referenced.get(name) ?? (await this.referencedBy(name));
        const bytes: RepositoryBytes = { unique: 0, shared: 0, total: 0 };
        const sizes = await Promise.all([...digests].map(async (d) => [d, await this.sizeOf(d)] as const));
        for (const [d, size] of sizes) {
          if ((holders.get(d) ?? 1) > 1) bytes.shared += size;
          else bytes.unique += size;
        }
        bytes.total = bytes.unique + bytes.shared;
        const tags = await this.tagLinks(name);
        const lastPush = tags.reduce<string | null>((newest, { link }) => (newest === null || link.pushedAt > newest ? link.pushedAt : newest), null);
        return { name, tags: tags.length, manifests: (await this.revisions(name)).length, bytes, lastPush };
      }),
    );
  }

  /**
   * Summaries of the tags `tags` of repository `name`, in the given order; a tag deleted meanwhile is left out.
   */
  async tags(name: RepositoryName, tags: readonly string[]): Promise<TagSummary[]> {
    const found = await Promise.all(
      tags.map(async (t): Promise<TagSummary | undefined> => {
        const tag = parseTag(t);
        const link = await this.tagLink(name, tag);
        if (!link) return undefined;
        const digest = parseDigest(link.digest).digest;
        const manifest = await this.#read(() => this.manifests.get(name, { digest: parseDigest(digest) })).catch(absentAs(undefined));
        if (!manifest) return undefined;
        const reached = await this.reachable(name, digest);
        const sizes = await Promise.all([...reached].map((d) => this.sizeOf(d)));
        return { tag, digest, mediaType: manifest.mediaType, size: sizes.reduce((a, b) => a + b, 0), pushedAt: link.pushedAt };
      }),
    );
    return found.filter((t): t is TagSummary => t !== undefined);
  }

  /** The digests of every manifest revision of repository `name`. */
  async revisions(name: RepositoryName): Promise<Digest[]> {
    const found: Digest[] = [];
    for (const algorithm of ALGORITHMS) {
      for (const hex of await this.#read(() => this.driver.list(layout.manifestRevisionsOf(name, algorithm)))) {
        const d = `${algorithm}:${hex}`;
        if (isDigest(d)) found.push(d);
      }
    }
    return found;
  }

  /** Every digest repository `name`'s manifests reference: the revisions themselves and their configs and layers. */
  private async referencedBy(name: RepositoryName): Promise<Set<Digest>> {
    const revisions = await this.revisions(name);
    const digests = new Set<Digest>(revisions);
    const nodes = await Promise.all(revisions.map((d) => this.node(name, d)));
    for (const node of nodes) for (const b of node?.blobs ?? []) digests.add(b);
    return digests;
  }

  /** The digests a manifest reaches in repository `name`: itself, its blobs, and its children's, recursively. */
  private async reachable(name: RepositoryName, root: Digest): Promise<Set<Digest>> {
    const seen = new Set<Digest>();
    const visit = async (d: Digest): Promise<void> => {
      if (seen.has(d)) return;
      seen.add(d);
      const node = await this.node(name, d);
      if (!node) return;
      for (const b of node.blobs) seen.add(b);
      await Promise.all(node.children.map(visit));
    };
    await visit(root);
    return seen;
  }

  /** The parsed references of manifest `d` in repository `name`; undefined when it is not stored there or does not parse. */
  private node(name: RepositoryName, d: Digest): Promise<ManifestRefs | undefined> {
    const key = `${name}@${d}`;
    let node = this.#nodes.get(key);
    if (!node) {
      node = this.readNode(name, d);
      this.#nodes.set(key, node);
    }
    return node;
  }

  private async readNode(name: RepositoryName, d: Digest): Promise<ManifestRefs | undefined> {
    const manifest = await this.#read(() => this.manifests.get(name, { digest: parseDigest(d) })).catch(absentAs(undefined));
    // a body that is not JSON (never stored by a push) counts with its own bytes only
    return manifest && (manifestReferences(manifest.body) ?? { blobs: [], children: [] });
  }


  /** Stored bytes of object `d` (a blob or a manifest), 0 when absent. */
  private sizeOf(d: Digest): Promise<number> {
    let size = this.#sizes.get(d);
    if (!size) {
      size = this.#read(() => this.blobs.statStored(d)).then((s) => s ?? 0);
      this.#sizes.set(d, size);
    }
    return size;
  }

  /** Every tag of `name` with its link; tags deleted since the listing are left out. */
  private async tagLinks(name: RepositoryName): Promise<{ tag: Tag; link: TagLink }[]> {
    const tags = await this.#read(() => this.manifests.tags(name));
    const links = await Promise.all(tags.map(async (t) => ({ tag: t as Tag, link: await this.tagLink(name, t as Tag) })));
    return links.filter((l): l is { tag: Tag; link: TagLink } => l.link !== undefined);
  }

  private tagLink(name: RepositoryName, tag: Tag): Promise<TagLink | undefined> {
    return this.#read(() => this.manifests.resolveTag(name, tag)).catch(absentAs(undefined));
  }
}

/** A rejection handler that maps MANIFEST_UNKNOWN (deleted since it was listed) to `value` and rethrows anything else. */
function absentAs<T>(value: T): (err: unknown) => T {
  return (err: unknown) => {
    if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return value;
    throw err;
  };
}
