/**
 * Reading what the admin index holds from storage: a repository's tags (how many, the newest push),
 * its manifest revisions and what they reference, whether it exists, and the stored blobs with their
 * sizes; the whole index by a walk of the registry. Every storage request goes through the limiter it is given.
 */
import type { LimitFunction } from 'p-limit';
import { ALGORITHMS, isDigest, type Digest } from '../../oci/digest.js';
import { manifestReferences } from '../../oci/manifest.js';
import { isTag, type RepositoryName, type Tag } from '../../oci/reference.js';
import { statIfExists, type StorageDriver } from '../../storage/driver.js';
import { isNotFound } from '../../storage/driver-errors.js';
import * as layout from '../../storage/layout.js';
import type { TagLink } from '../manifests.js';
import { readOnce } from '../../storage/read-once.js';
import { walkRepositories } from '../catalog.js';
import { forEachLimit } from '../limit.js';
import type { RepositoryFacts } from './repository-entry.js';
import { IndexState } from './state.js';

/** The push time of tag `tag` of `name` (ms since the epoch; 0 when unreadable), or undefined when the tag does not exist. */
export async function readTagPush(driver: StorageDriver, name: RepositoryName, tag: Tag): Promise<number | undefined> {
  try {
    const link = JSON.parse((await driver.getContent(layout.tag(name, tag))).toString('utf8')) as TagLink;
    const t = Date.parse(link.pushedAt);
    return Number.isNaN(t) ? 0 : t;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (err instanceof SyntaxError) return 0;
    throw err;
  }
}

/** How many tags repository `name` has, and the newest push among them (ms; 0 without tags). */
export async function readTags(driver: StorageDriver, read: LimitFunction, name: RepositoryName, withLastPush = true): Promise<{ tags: number; lastPush?: number }> {
  const tags = (await read(() => driver.list(layout.tags(name)))).filter(isTag);
  if (!withLastPush) return { tags: tags.length };
  const pushes = await Promise.all(tags.map((t) => read(() => readTagPush(driver, name, t))));
  return { tags: tags.length, lastPush: pushes.reduce<number>((newest, t) => Math.max(newest, t ?? 0), 0) };
}

/** The digests of repository `name`'s manifest revisions. */
export async function readRevisions(driver: StorageDriver, read: LimitFunction, name: RepositoryName): Promise<Digest[]> {
  const found: Digest[] = [];
  for (const algorithm of ALGORITHMS) {
    for (const hex of await read(() => driver.list(layout.manifestRevisionsOf(name, algorithm)))) {
      const d = `${algorithm}:${hex}`;
      if (isDigest(d)) found.push(d);
    }
  }
  return found;
}

/** What a walk records of the manifests it reads: their stored sizes (bytes read), and the sizes their blob descriptors give. */
export interface WalkSizes {
  /** a manifest's stored size (bytes), by digest */
  manifests: Map<Digest, number>;
  /** [blob, size its descriptor gives] of every config and layer whose descriptor gives a usable size (ManifestRefs.blobSizes) */
  described: [Digest, number][];
}

/**
 * The blobs manifest `d` references (config and layers; an index's children are revisions and counted as such); [] when its bytes are missing or not a manifest.
 * @param sizes given: what a walk records of the manifest read (see {@link WalkSizes})
 */
export async function readManifestBlobs(driver: StorageDriver, read: LimitFunction, d: Digest, sizes?: WalkSizes): Promise<Digest[]> {
  try {
    const body = await read(() => driver.getContent(layout.blobData(d)));
    const refs = manifestReferences(body);
    if (sizes) {
      sizes.manifests.set(d, body.length);
      refs?.blobs.forEach((blob, i) => {
        const size = refs.blobSizes?.[i];
        if (size !== undefined) sizes.described.push([blob, size]);
      });
    }
    return refs?.blobs ?? [];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Every digest repository `name`'s manifests reference: the revisions themselves and their configs and layers (`sizes`: see {@link readManifestBlobs}). */
export async function readReferences(driver: StorageDriver, read: LimitFunction, revisions: readonly Digest[], sizes?: WalkSizes): Promise<Digest[]> {
  const blobs = await Promise.all(revisions.map((d) => readManifestBlobs(driver, read, d, sizes)));
  return [...revisions, ...blobs.flat()];
}

/** True when repository `name` holds a manifest or a blob link (what makes it a repository of the catalog). */
export async function repositoryExists(driver: StorageDriver, read: LimitFunction, name: RepositoryName): Promise<boolean> {
  const children = await read(() => driver.list(layout.repository(name)));
  return children.includes('_manifests') || children.includes('_layers');
}

/**
 * Everything the index holds of repository `name`, or undefined when it does not exist.
 * @param walk given by a walk: it just found the repository holding content (its folder is not
 *   listed again), and records what the manifests read give of sizes (see {@link WalkSizes})
 */
export async function readRepository(driver: StorageDriver, read: LimitFunction, name: RepositoryName, walk?: { sizes: WalkSizes }): Promise<RepositoryFacts | undefined> {
  if (!walk && !(await repositoryExists(driver, read, name))) return undefined;
  const [{ tags, lastPush }, revisions] = await Promise.all([readTags(driver, read, name), readRevisions(driver, read, name)]);
  return { tags, lastPush: lastPush ?? 0, manifests: revisions.length, refs: await readReferences(driver, read, revisions, walk?.sizes) };
}

/** The stored size of blob `d` (bytes), or undefined when it is not stored. */
export async function readBlobSize(driver: StorageDriver, read: LimitFunction, d: Digest): Promise<number | undefined> {
  const info = await read(() => statIfExists(driver, layout.blobData(d)));
  return info && !info.isDir ? info.size : undefined;
}

/**
 * What a walk knows of a blob the shard listing shows: 'stored' (the index has its size: not
 * visited), the size a manifest's descriptor gives (visited with it, no stat: a push checked it), or
 * undefined (stat'ed for its size).
 */
export type KnownBlob = (digest: Digest) => 'stored' | number | undefined;

/**
 * Calls `visit` with every stored blob and its size, one shard folder at a time: the listing says
 * which blobs are stored, and `known` which of them need no stat.
 */
export async function forEachStoredBlob(driver: StorageDriver, read: LimitFunction, visit: (digest: Digest, size: number) => void, known: KnownBlob = () => undefined): Promise<void> {
  for (const algorithm of ALGORITHMS) {
    const shards = (await read(() => driver.list(layout.blobShards(algorithm)))).filter((s) => /^[0-9a-f]{2}$/.test(s));
    for (const shard of shards) {
      const unknown: Digest[] = [];
      for (const hex of await read(() => driver.list(layout.blobShard(algorithm, shard)))) {
        const d = `${algorithm}:${hex}`;
        if (!isDigest(d)) continue;
        const size = known(d);
        if (size === undefined) unknown.push(d);
        else if (size !== 'stored') visit(d, size);
      }
      await Promise.all(
        unknown.map(async (d) => {
          const size = await readBlobSize(driver, read, d);
          if (size !== undefined) visit(d, size);
        }),
      );
    }
  }
}

/**
 * The whole index read from storage: every repository (8 at a time), the manifests' sizes taken from
 * their bytes read for their references, then the shard listing of the stored blobs: a config or
 * layer takes the size its manifests' descriptors give (a push checks it against the stored blob:
 * manifest-references.ts), and only a blob no manifest describes (or two describe differently) is
 * stat'ed. A blob described but not listed (a cached upstream manifest whose layers were never
 * pulled) is not stored and not counted. It reads each object once: nothing it reads stays in the
 * driver's read cache.
 * @param describedSizes false: no descriptor's size is taken, every stored blob is stat'ed (a pull-through
 *   cache, whose manifests are its upstream's, stored byte for byte without the push's check)
 */
export async function walkRegistry(driver: StorageDriver, read: LimitFunction, describedSizes = true): Promise<IndexState> {
  const walk = readOnce(driver);
  const state = new IndexState();
  await forEachLimit(await walkRepositories(walk), 8, async (name) => {
    const sizes: WalkSizes = { manifests: new Map(), described: [] };
    const facts = await readRepository(walk, read, name, { sizes });
    if (facts) state.setRepository(name, facts);
    for (const [d, size] of sizes.manifests) state.setBlob(d, size);
    if (describedSizes) for (const [d, size] of sizes.described) state.describe(d, size);
  });
  await forEachStoredBlob(walk, read, (d, size) => state.setBlob(d, size), (d) => (state.sizeOf(d) !== undefined ? 'stored' : state.describedSize(d)));
  state.forgetDescribed();
  return state;
}
