/**
 * Reading what the admin index holds from storage: a repository's tags (how many, the newest push),
 * its manifest revisions and what they reference, whether it exists, and the stored blobs with their
 * sizes; the whole index by a walk of the registry. Every storage request goes through the limiter it is given.
 */
import type { LimitFunction } from 'p-limit';
import { ALGORITHMS, isDigest, type Digest } from '../../oci/digest.js';
import { manifestReferences } from '../../oci/manifest.js';
import { isTag, type RepositoryName, type Tag } from '../../oci/reference.js';
import { isNotFound, statIfExists, type StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import type { TagLink } from '../manifests.js';
import { readOnce } from '../../storage/read-once.js';
import { walkRepositories } from '../catalog.js';
import { forEachLimit } from '../limit.js';
import { IndexState, type RepositoryFacts } from './state.js';

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

/**
 * The blobs manifest `d` references (config and layers; an index's children are revisions and counted as such); [] when its bytes are missing or not a manifest.
 * @param sizes given: the manifest's stored size (bytes) is recorded in it when its bytes were read
 */
export async function readManifestBlobs(driver: StorageDriver, read: LimitFunction, d: Digest, sizes?: Map<Digest, number>): Promise<Digest[]> {
  try {
    const body = await read(() => driver.getContent(layout.blobData(d)));
    sizes?.set(d, body.length);
    return manifestReferences(body)?.blobs ?? [];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Every digest repository `name`'s manifests reference: the revisions themselves and their configs and layers (`sizes`: see {@link readManifestBlobs}). */
export async function readReferences(driver: StorageDriver, read: LimitFunction, revisions: readonly Digest[], sizes?: Map<Digest, number>): Promise<Digest[]> {
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
 *   listed again), and records the sizes of the manifests read (see {@link readManifestBlobs})
 */
export async function readRepository(driver: StorageDriver, read: LimitFunction, name: RepositoryName, walk?: { sizes: Map<Digest, number> }): Promise<RepositoryFacts | undefined> {
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
 * Calls `visit` with every stored blob and its size, one shard folder at a time.
 * @param known true for a blob whose size is known already: not visited (no stat)
 */
export async function forEachStoredBlob(driver: StorageDriver, read: LimitFunction, visit: (digest: Digest, size: number) => void, known: (digest: Digest) => boolean = () => false): Promise<void> {
  for (const algorithm of ALGORITHMS) {
    const shards = (await read(() => driver.list(layout.blobShards(algorithm)))).filter((s) => /^[0-9a-f]{2}$/.test(s));
    for (const shard of shards) {
      const digests = (await read(() => driver.list(layout.blobShard(algorithm, shard)))).map((hex) => `${algorithm}:${hex}`).filter((d): d is Digest => isDigest(d) && !known(d));
      await Promise.all(
        digests.map(async (d) => {
          const size = await readBlobSize(driver, read, d);
          if (size !== undefined) visit(d, size);
        }),
      );
    }
  }
}

/**
 * The whole index read from storage: every repository (8 at a time), the manifests' sizes taken from
 * their bytes read for their references, then every stored blob whose size is not known yet (one
 * stat each: the manifests need none). It reads each object once: nothing it reads stays in the
 * driver's read cache.
 */
export async function walkRegistry(driver: StorageDriver, read: LimitFunction): Promise<IndexState> {
  const walk = readOnce(driver);
  const state = new IndexState();
  await forEachLimit(await walkRepositories(walk), 8, async (name) => {
    const sizes = new Map<Digest, number>();
    const facts = await readRepository(walk, read, name, { sizes });
    if (facts) state.setRepository(name, facts);
    for (const [d, size] of sizes) state.setBlob(d, size);
  });
  await forEachStoredBlob(walk, read, (d, size) => state.setBlob(d, size), (d) => state.sizeOf(d) !== undefined);
  return state;
}
