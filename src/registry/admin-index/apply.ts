/**
 * Applying change events (journal.ts) to the admin index: each event says what changed, and applying
 * it reads that part of the storage again, so applying an event twice, late or out of order still
 * ends with what the storage holds. A push's events are applied incrementally (a new tag raises the
 * last push, a new revision adds its references); a delete makes the repository's part be read again
 * whole (its tags, or its revisions), and a deleted folder the whole repository.
 */
import type { LimitFunction } from 'p-limit';
import type { Digest } from '../../oci/digest.js';
import type { RepositoryName, Tag } from '../../oci/reference.js';
import { statIfExists, type StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import { forEachLimit } from '../limit.js';
import { readBlobSize, readManifestBlobs, readReferences, readRepository, readRevisions, readTagPush, readTags, repositoryExists } from './scan.js';
import type { IndexState } from './state.js';

/** The events of one batch, grouped. */
interface Batch {
  blobs: Set<Digest>;
  repositories: Map<RepositoryName, { tags: Set<Tag>; revisions: Set<Digest>; content: boolean; whole: boolean }>;
  everything: boolean;
}

/** Groups `events` (see journal.ts); unknown lines are skipped. */
export function group(events: Iterable<string>): Batch {
  const batch: Batch = { blobs: new Set(), repositories: new Map(), everything: false };
  const repo = (name: string) => {
    let changes = batch.repositories.get(name as RepositoryName);
    if (!changes) {
      changes = { tags: new Set(), revisions: new Set(), content: false, whole: false };
      batch.repositories.set(name as RepositoryName, changes);
    }
    return changes;
  };
  for (const event of events) {
    const [kind, a, b] = event.split('\t');
    if (kind === '*') batch.everything = true;
    else if (kind === 'b' && a) batch.blobs.add(a as Digest);
    else if (kind === 't' && a && b) repo(a).tags.add(b as Tag);
    else if (kind === 'm' && a && b) repo(a).revisions.add(b as Digest);
    else if (kind === 'r' && a) repo(a).content = true;
    else if (kind === 'R' && a) repo(a).whole = true;
  }
  return batch;
}

/** How many repositories a batch reads at once. */
const REPOSITORIES_IN_FLIGHT = 8;

/** Applies a batch's blob and repository events to `state` (the caller handles `everything`: a walk). */
export async function applyBatch(driver: StorageDriver, read: LimitFunction, state: IndexState, batch: Batch): Promise<void> {
  await forEachLimit(batch.blobs, 16, async (d) => state.setBlob(d, await readBlobSize(driver, read, d)));
  await forEachLimit(batch.repositories, REPOSITORIES_IN_FLIGHT, async ([name, changes]) => {
    if (changes.whole) {
      const nested = state.names().filter((n) => n.startsWith(`${name}/`));
      await forEachLimit([name, ...nested], 4, (n) => rescan(driver, read, state, n));
      return;
    }
    if (changes.content || !state.repository(name)) {
      if (!(await repositoryExists(driver, read, name))) {
        state.removeRepository(name);
        return;
      }
      if (!state.repository(name)) {
        await rescan(driver, read, state, name);
        return;
      }
    }
    if (changes.tags.size > 0) await applyTags(driver, read, state, name, changes.tags);
    if (changes.revisions.size > 0) await applyRevisions(driver, read, state, name, changes.revisions);
  });
}

/** Reads repository `name` again whole. */
export async function rescan(driver: StorageDriver, read: LimitFunction, state: IndexState, name: RepositoryName): Promise<void> {
  const facts = await readRepository(driver, read, name);
  if (!facts) {
    state.removeRepository(name);
    return;
  }
  const refs = [...facts.refs];
  state.setRepository(name, { ...facts, refs });
  await learnSizes(driver, read, state, refs);
}

/** Tags written (the count again, the newest push raised) or deleted (the newest push read again from every tag). */
async function applyTags(driver: StorageDriver, read: LimitFunction, state: IndexState, name: RepositoryName, tags: Set<Tag>): Promise<void> {
  const pushes = await Promise.all([...tags].map((t) => read(() => readTagPush(driver, name, t))));
  if (pushes.includes(undefined)) {
    const { tags: count, lastPush } = await readTags(driver, read, name);
    state.updateRepository(name, { tags: count, lastPush: lastPush ?? 0 });
    return;
  }
  const { tags: count } = await readTags(driver, read, name, false);
  const newest = Math.max(state.repository(name)?.lastPush ?? 0, ...(pushes as number[]));
  state.updateRepository(name, { tags: count, lastPush: newest });
}

/** Revisions written (their references added, the count again) or deleted (every revision read again). */
async function applyRevisions(driver: StorageDriver, read: LimitFunction, state: IndexState, name: RepositoryName, revisions: Set<Digest>): Promise<void> {
  const present = await Promise.all([...revisions].map((d) => read(async () => (await statIfExists(driver, layout.manifestRevision(name, d))) !== undefined)));
  const all = await readRevisions(driver, read, name);
  if (present.includes(false)) {
    const refs = await readReferences(driver, read, all);
    state.setRepository(name, { ...factsOf(state, name), manifests: all.length, refs });
    await learnSizes(driver, read, state, refs);
    return;
  }
  const added = (await Promise.all([...revisions].map(async (d) => [d, ...(await readManifestBlobs(driver, read, d))]))).flat();
  state.updateRepository(name, { manifests: all.length, addRefs: added });
  await learnSizes(driver, read, state, added);
}

/** The facts of a repository the index holds (to set its references alone). */
function factsOf(state: IndexState, name: RepositoryName): { tags: number; lastPush: number } {
  const entry = state.repository(name);
  return { tags: entry?.tags ?? 0, lastPush: entry?.lastPush ?? 0 };
}

/**
 * Reads the size of the referenced blobs the index does not know as stored (a blob event may come
 * later, or never for one stored long ago): a stat each, which also says whether the blob is stored
 * (a cached upstream manifest's layers may not be), what a descriptor's size cannot.
 */
async function learnSizes(driver: StorageDriver, read: LimitFunction, state: IndexState, digests: readonly Digest[]): Promise<void> {
  const unknown = digests.filter((d) => state.sizeOf(d) === undefined);
  await forEachLimit(unknown, 16, async (d) => {
    const size = await readBlobSize(driver, read, d);
    if (size !== undefined) state.setBlob(d, size);
  });
}
