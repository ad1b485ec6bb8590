/**
 * What a garbage collection run reads, one repository at a time so that memory stays bounded by the
 * largest repository rather than the registry: a repository's tags, manifest revisions and blob links
 * (with their modification times) and what each of its manifests references; and the blob store,
 * shard by shard. Read only. Every storage request of a run goes through one limiter, however many
 * repositories are read at once.
 */
import type { LimitFunction } from 'p-limit';
import { ALGORITHMS, isDigest, type Algorithm, type Digest } from '../oci/digest.js';
import { manifestReferences, type ManifestRefs } from '../oci/manifest.js';
import { isTag, type RepositoryName, type Tag } from '../oci/reference.js';
import type { TagLink } from '../registry/manifests.js';
import { contentIfExists, statIfExists, type ListedFolders, type StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/driver-errors.js';
import * as layout from '../storage/layout.js';

/** One repository as scanned (modification times are read later, only for what marking needs them: see mark.ts). */
export interface RepositoryScan {
  name: RepositoryName;
  tags: Map<Tag, TagLink>;
  /** manifest revisions */
  revisions: Set<Digest>;
  /** blob links */
  links: Digest[];
  /** the references of each revision's manifest; absent when its bytes are missing or not a manifest */
  manifests: Map<Digest, ManifestRefs>;
}

/** The digests named by the objects of `folder` (one per digest, named by its hex), for every algorithm (`temporaries`: see ReadOptions). */
async function listDigests(driver: StorageDriver, read: LimitFunction, folder: (algorithm: Algorithm) => string, temporaries?: string[]): Promise<Digest[]> {
  // every algorithm's folder at once (most are absent: a listing that answers empty still waits its turn)
  const listings = await Promise.all(ALGORITHMS.map((algorithm) => read(() => driver.list(folder(algorithm), temporaries && { temporaries }))));
  const found: Digest[] = [];
  ALGORITHMS.forEach((algorithm, i) => {
    for (const hex of listings[i]!) {
      const d = `${algorithm}:${hex}`;
      if (isDigest(d)) found.push(d);
    }
  });
  return found;
}

/** The modification times (ms since the epoch) of the objects at `paths`, in order; undefined for one deleted meanwhile. */
export function modTimes(driver: StorageDriver, read: LimitFunction, paths: readonly string[]): Promise<(number | undefined)[]> {
  return Promise.all(paths.map((p) => read(async () => (await statIfExists(driver, p))?.modTime.getTime())));
}

/**
 * The tag's link, or undefined when it was deleted since the listing.
 * @throws Error naming the tag when its object holds no tag link (damaged storage: tags are written
 *   whole, atomically). The registry still lists such a tag (its GET answers 500); taking its manifest
 *   for untagged would delete the image, with `deleteUntagged`, so the run stops instead.
 */
async function readTag(driver: StorageDriver, name: RepositoryName, tag: Tag): Promise<TagLink | undefined> {
  let bytes: Buffer;
  try {
    bytes = await driver.getContent(layout.tag(name, tag));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let link: Partial<TagLink> | null = null;
  try {
    link = JSON.parse(bytes.toString('utf8')) as Partial<TagLink> | null;
  } catch {
    // not JSON: reported below
  }
  if (typeof link?.digest === 'string' && isDigest(link.digest)) return link as TagLink;
  throw new Error(
    `tag ${name}:${tag} does not hold a tag link (storage object ${layout.tag(name, tag)}, ${bytes.length} bytes): ` +
      'the run stopped rather than take its manifest for untagged; push the tag again, or delete it',
  );
}

/** The references of manifest `d`'s stored bytes, or undefined when they are missing or not a manifest. */
export async function readReferences(driver: StorageDriver, d: Digest): Promise<ManifestRefs | undefined> {
  const bytes = await contentIfExists(driver, layout.blobData(d));
  return bytes === undefined ? undefined : manifestReferences(bytes);
}

/**
 * Reads repository `name`: tags, revisions, links and its manifests' references. The tags (listed,
 * then read), the revisions (listed, then their manifests read) and the links are read side by side:
 * two storage round trips after one another instead of seven, so the repositories in flight keep the
 * run's limiter full. With `temporaries`, the temporary files its listings find (the folders of
 * {@link scannedFolder}) are added there.
 * @throws Error naming a tag whose object holds no tag link (see readTag)
 */
export async function scanRepository(driver: StorageDriver, read: LimitFunction, name: RepositoryName, temporaries?: string[]): Promise<RepositoryScan> {
  const readTags = async (): Promise<Map<Tag, TagLink>> => {
    const tags = new Map<Tag, TagLink>();
    const tagNames = (await read(() => driver.list(layout.tags(name), temporaries && { temporaries }))).filter(isTag);
    await Promise.all(
      tagNames.map((tag) =>
        read(async () => {
          const link = await readTag(driver, name, tag);
          if (link) tags.set(tag, link);
        }),
      ),
    );
    return tags;
  };
  const readManifests = async (): Promise<{ revisions: Set<Digest>; manifests: Map<Digest, ManifestRefs> }> => {
    const revisions = new Set(await listDigests(driver, read, (a) => layout.manifestRevisionsOf(name, a), temporaries));
    const manifests = new Map<Digest, ManifestRefs>();
    await Promise.all(
      [...revisions].map((d) =>
        read(async () => {
          const refs = await readReferences(driver, d);
          if (refs) manifests.set(d, refs);
        }),
      ),
    );
    return { revisions, manifests };
  };
  const [tags, { revisions, manifests }, links] = await Promise.all([
    readTags(),
    readManifests(),
    listDigests(driver, read, (a) => layout.layerLinksOf(name, a), temporaries),
  ]);
  return { name, tags, revisions, links, manifests };
}

/**
 * A test of whether storage path `folder` is one that {@link scanRepository} lists whole, for a
 * repository of `names` (the tags, each algorithm's revisions and links): a purge of temporary files
 * need not read those again when the scan handed over the temporary files it found (ListedFolders).
 */
export function scannedFolder(names: readonly RepositoryName[]): (folder: string) => boolean {
  const scanned = new Set<string>(names);
  const shape = /^\/repositories\/(.+)\/(?:_manifests\/tags|_manifests\/revisions\/[a-z0-9]+|_layers\/[a-z0-9]+)$/;
  return (folder) => {
    const name = shape.exec(folder)?.[1] as RepositoryName | undefined;
    if (name === undefined || !scanned.has(name)) return false;
    return folder === layout.tags(name) || ALGORITHMS.some((a) => folder === layout.manifestRevisionsOf(name, a) || folder === layout.layerLinksOf(name, a));
  };
}

/** The digests of repository `name`'s blob links, read now. */
export function linkedDigests(driver: StorageDriver, read: LimitFunction, name: RepositoryName): Promise<Digest[]> {
  return listDigests(driver, read, (a) => layout.layerLinksOf(name, a));
}

/** How many blob shard folders {@link forEachBlobShard} lists ahead of the one it visits. */
export const SHARDS_AHEAD = 4;

/**
 * Calls `visit` with the digests of every blob in the store, one shard folder (`blobs/<alg>/<2 hex>`)
 * at a time, in order, so the store is never listed whole into memory; the next {@link SHARDS_AHEAD}
 * shards are listed while one is visited (a cold disk answers them side by side). `shards` is how
 * many shard folders the algorithm has (with the first shard's count, an estimate of the store's
 * size). With `listed`, the shard folders and the temporary files their listings found are recorded
 * there (for the purge of temporary files, which then does not list them again).
 * @throws the first error of a listing or of `visit` (the listings ahead are then left unread)
 */
export async function forEachBlobShard(
  driver: StorageDriver,
  read: LimitFunction,
  visit: (digests: Digest[], shards: number) => Promise<void> | void,
  listed?: ListedFolders,
): Promise<void> {
  for (const algorithm of ALGORITHMS) {
    const shards = (await read(() => driver.list(layout.blobShards(algorithm)))).filter((s) => /^[0-9a-f]{2}$/.test(s));
    const folders = shards.map((shard) => layout.blobShard(algorithm, shard));
    const listings: (Promise<string[]> | undefined)[] = [];
    const listAhead = (upTo: number): void => {
      while (listings.length < Math.min(upTo, folders.length)) {
        const folder = folders[listings.length]!;
        const listing = read(() => driver.list(folder, listed && { temporaries: listed.temporaries }));
        listing.catch(() => undefined); // awaited in turn below; a failure ahead is not unhandled meanwhile
        listings.push(listing);
      }
    };
    for (let i = 0; i < folders.length; i++) {
      listAhead(i + 1 + SHARDS_AHEAD);
      const names = await listings[i]!;
      listings[i] = undefined; // the visited shard's names are not kept
      listed?.folders.push(folders[i]!);
      await visit(names.map((hex) => `${algorithm}:${hex}`).filter(isDigest), shards.length);
    }
  }
}
