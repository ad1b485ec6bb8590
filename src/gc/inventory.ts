/**
 * What a garbage collection run sees: every stored blob (size, time), every repository's tags,
 * manifest revisions and blob links (with their times), and what each manifest references. Read
 * only. Blobs are listed first, so a blob stored while the repositories are read is simply not a
 * candidate of this run.
 */
import { ALGORITHMS, isDigest, type Digest } from '../oci/digest.js';
import { isTag, type RepositoryName, type Tag } from '../oci/reference.js';
import { walkRepositories } from '../registry/catalog.js';
import { storedBlobs, type StoredBlob } from '../registry/stored-blobs.js';
import { manifestReferences, type ManifestRefs } from '../oci/manifest.js';
import type { TagLink } from '../registry/manifests.js';
import { isNotFound, statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from '../registry/limit.js';

/** One repository as scanned. */
export interface RepositoryScan {
  name: RepositoryName;
  tags: Map<Tag, TagLink>;
  /** manifest revisions and their link's modification time (ms since the epoch) */
  revisions: Map<Digest, number>;
  /** blob links and their modification time (ms since the epoch) */
  links: Map<Digest, number>;
}

/** Everything a run marks and sweeps from. */
export interface Inventory {
  blobs: Map<Digest, StoredBlob>;
  repositories: RepositoryScan[];
  /** the references of every revision's manifest; absent when its bytes are missing or not a manifest */
  manifests: Map<Digest, ManifestRefs>;
}

/** How many storage requests a scan keeps in flight. */
const PARALLEL = 16;

/** Scans the whole storage. */
export async function scanInventory(driver: StorageDriver): Promise<Inventory> {
  const blobs = await storedBlobs(driver);
  const names = await walkRepositories(driver);
  const repositories: RepositoryScan[] = [];
  await forEachLimit(names, 4, async (name) => void repositories.push(await scanRepository(driver, name)));
  repositories.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const manifests = new Map<Digest, ManifestRefs>();
  const digests = new Set(repositories.flatMap((r) => [...r.revisions.keys()]));
  await forEachLimit([...digests], PARALLEL, async (d) => {
    const body = await driver.getContent(layout.blobData(d)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const refs = body && manifestReferences(body);
    if (refs) manifests.set(d, refs);
  });
  return { blobs, repositories, manifests };
}

async function scanRepository(driver: StorageDriver, name: RepositoryName): Promise<RepositoryScan> {
  const tags = new Map<Tag, TagLink>();
  await forEachLimit((await driver.list(layout.tags(name))).filter(isTag), PARALLEL, async (tag) => {
    try {
      const link = JSON.parse((await driver.getContent(layout.tag(name, tag))).toString('utf8')) as TagLink;
      if (isDigest(link.digest)) tags.set(tag, link);
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err; // deleted since the listing, or not a tag object
    }
  });
  const revisions = await timedDigests(driver, (a) => layout.manifestRevisionsOf(name, a), (d) => layout.manifestRevision(name, d));
  const links = await timedDigests(driver, (a) => layout.layerLinksOf(name, a), (d) => layout.layerLink(name, d));
  return { name, tags, revisions, links };
}

/** Lists digest-named objects of every algorithm under `folder(alg)` with their modification times. */
async function timedDigests(
  driver: StorageDriver,
  folder: (algorithm: (typeof ALGORITHMS)[number]) => string,
  object: (d: Digest) => string,
): Promise<Map<Digest, number>> {
  const found = new Map<Digest, number>();
  for (const algorithm of ALGORITHMS) {
    const digests = (await driver.list(folder(algorithm))).map((hex) => `${algorithm}:${hex}`).filter(isDigest);
    await forEachLimit(digests, PARALLEL, async (d) => {
      const info = await statIfExists(driver, object(d));
      if (info) found.set(d, info.modTime.getTime());
    });
  }
  return found;
}
