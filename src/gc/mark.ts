/**
 * Marking, one repository at a time: which manifests a repository keeps, and which blobs its kept
 * manifests need. The blobs go into one compact mark set for the whole registry ({@link MarkSet}); the
 * manifests a repository does not keep are its candidates.
 *
 * A repository keeps (roots, then everything they reach):
 * - every tagged manifest (tags that retention is deleting in this run excepted);
 * - every manifest younger than the grace period (its revision link is newer than `cutoff`);
 * - unless untagged manifests are deleted there, every other manifest that has no `subject`;
 * and from a kept manifest: an image index's child manifests, and the manifests whose `subject` it
 * is (its referrers). So a referrer follows its subject: kept while the subject is kept, deleted
 * with it. A kept manifest needs its own bytes and its config and layers. A blob linked within the
 * grace period is needed too (a push may be about to reference it).
 *
 * Marking runs in three passes over a repository so that what each cause keeps can be told apart
 * (kept.ts): from the tags, then from the untagged manifests (where they are kept), then from the
 * manifests younger than the grace period; a blob needed only by the last pass, or by a recent link,
 * is marked as kept by the grace period.
 */
import type { Digest } from '../oci/digest.js';
import type { ManifestRefs } from '../oci/manifest.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import * as layout from '../storage/layout.js';
import { DigestTable } from '../registry/digest-table.js';
import type { KeptTally } from './kept.js';
import type { RepositoryScan } from './scan.js';

/** A digest in a repository: a manifest revision, or a blob link. */
export interface RepositoryDigest {
  repository: RepositoryName;
  digest: Digest;
}

/** A manifest the sweep may delete, with the subject whose referrers list it. */
export interface ManifestCandidate extends RepositoryDigest {
  subject?: Digest;
}

/** What marking one repository needs besides its scan. */
export interface MarkOptions {
  /** ms since the epoch: anything modified after it is younger than the grace period and kept */
  cutoff: number;
  /** true when untagged manifests of the repository are deleted */
  deleteUntagged: boolean;
  /** tags that count as deleted (those retention deletes in this run) */
  ignoredTags: ReadonlySet<Tag>;
  /** the references of a manifest that is not a revision of the repository (an index's child kept elsewhere), or undefined */
  references(digest: Digest): Promise<ManifestRefs | undefined>;
  /** the modification times (ms since the epoch) of the objects at `paths`, undefined for one that is gone */
  modTimes(paths: readonly string[]): Promise<(number | undefined)[]>;
  /** where the manifests kept only by the grace period, and the untagged ones kept, are counted */
  tally: KeptTally;
}

const STORED = 1;
const MARKED = 2;
/** needed by what only the grace period keeps (a young manifest, a young link) */
const GRACE = 4;

/**
 * The blobs of the store (as listed before the repositories were read) and which of them a kept
 * manifest or a recent link needs, telling what only the grace period needs apart: about 23 bytes per
 * blob in a {@link DigestTable} without ids (sized once from the first shard listed, see {@link expect}),
 * plus an entry in a map for each blob linked within the grace period.
 */
export class MarkSet {
  readonly #flags = new DigestTable({}, { ids: false });
  /** the newest time (ms) a link within the grace period was made, per blob so linked (few: only recent links) */
  readonly #linkedAt = new Map<Digest, number>();

  /** Makes room for `count` digests in all (an estimate from the first listings), so the table is not grown while marking. */
  expect(count: number): void {
    this.#flags.reserve(count);
  }

  /** Records `digest` as stored. */
  stored(digest: Digest): void {
    this.#flags.setFlags(digest, STORED);
  }

  /** True when `digest` was listed as stored. */
  isStored(digest: Digest): boolean {
    return (this.#flags.flags(digest) & STORED) !== 0;
  }

  /** Marks `digest` as needed, by what only the grace period keeps when `grace` (a digest never stored is recorded as marked only). */
  mark(digest: Digest, grace = false): void {
    this.#flags.setFlags(digest, grace ? GRACE : MARKED);
  }

  /** Marks `digest` as needed by a link made at `linkedAt` (ms), within the grace period; the newest such time is kept. */
  markLinked(digest: Digest, linkedAt: number): void {
    this.#flags.setFlags(digest, GRACE);
    this.#linkedAt.set(digest, Math.max(this.#linkedAt.get(digest) ?? -Infinity, linkedAt));
  }

  /** True when `digest` is needed, for whatever reason. */
  isMarked(digest: Digest): boolean {
    return (this.#flags.flags(digest) & (MARKED | GRACE)) !== 0;
  }

  /** True when `digest` is needed by more than the grace period (a tag, an untagged manifest kept, a touched manifest). */
  isMarkedBeyondGrace(digest: Digest): boolean {
    return (this.#flags.flags(digest) & MARKED) !== 0;
  }

  /** True when `digest` was listed as stored and is not needed beyond the grace period (one lookup). */
  isStoredUnneeded(digest: Digest): boolean {
    return (this.#flags.flags(digest) & (STORED | MARKED)) === STORED;
  }

  /** True when `digest` was listed as stored and is needed beyond the grace period (one lookup). */
  isStoredAndMarked(digest: Digest): boolean {
    return (this.#flags.flags(digest) & (STORED | MARKED)) === (STORED | MARKED);
  }

  /** The newest time (ms) a link within the grace period was made to `digest`, or -Infinity. */
  linkedAt(digest: Digest): number {
    return this.#linkedAt.get(digest) ?? -Infinity;
  }

  /** How many digests the set holds. */
  get size(): number {
    return this.#flags.size;
  }
}

/** The manifests of a repository whose `subject` is each digest. */
function referrersBySubject(repo: RepositoryScan): Map<Digest, Digest[]> {
  const bySubject = new Map<Digest, Digest[]>();
  for (const [d, refs] of repo.manifests) {
    if (!refs.subject) continue;
    const list = bySubject.get(refs.subject);
    if (list) list.push(d);
    else bySubject.set(refs.subject, [d]);
  }
  return bySubject;
}

/**
 * Keeps `roots` of `repo` and everything they reach (beyond `kept`, which grows), marking the blobs
 * they need in `marks` (as needed only by the grace period when `grace`).
 * @returns the kept manifests (revisions of the repository, and children reached elsewhere)
 */
export async function keep(
  repo: RepositoryScan,
  roots: Iterable<Digest>,
  marks: MarkSet,
  options: Pick<MarkOptions, 'references'>,
  kept = new Set<Digest>(),
  grace = false,
): Promise<Set<Digest>> {
  const referrers = referrersBySubject(repo);
  const stack = [...roots];
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (kept.has(d)) continue;
    kept.add(d);
    marks.mark(d, grace);
    const refs = repo.manifests.get(d) ?? (repo.revisions.has(d) ? undefined : await options.references(d));
    if (refs) {
      for (const b of refs.blobs) marks.mark(b, grace);
      stack.push(...refs.children);
    }
    stack.push(...(referrers.get(d) ?? []));
  }
  return kept;
}

/**
 * Marks what `repo` keeps and needs, counting into `options.tally` the untagged manifests kept and
 * the manifests only the grace period keeps. Modification times are read only where they decide
 * something: of the revisions no other root reaches (a young one is a root), and of the links whose
 * blob is not already marked beyond the grace period and stored (a young link keeps its blob; an old
 * one to a blob that is not stored is dangling). A repository's links are mostly to what its own kept
 * manifests use: those cost no read.
 * @returns the repository's manifest candidates (revisions no root reaches, all older than the cutoff),
 *   its dangling links (older than the cutoff, to blobs that are not stored), and its other links
 *   older than the cutoff whose blob was not marked beyond the grace period when it was read: every
 *   link of the repository to a blob the run may sweep is one of those (marks only grow)
 */
export async function markRepository(
  repo: RepositoryScan,
  marks: MarkSet,
  options: MarkOptions,
): Promise<{ manifests: ManifestCandidate[]; danglingLinks: RepositoryDigest[]; unmarkedLinks: RepositoryDigest[] }> {
  const tagged: Digest[] = [];
  for (const [t, link] of repo.tags) if (!options.ignoredTags.has(t)) tagged.push(link.digest);
  const kept = await keep(repo, tagged, marks, options);
  if (!options.deleteUntagged) {
    const untagged = [...repo.revisions].filter((d) => !kept.has(d));
    await keep(repo, untagged.filter((d) => !repo.manifests.get(d)?.subject), marks, options, kept);
    options.tally.untagged(untagged.filter((d) => kept.has(d)).length);
  }
  const unreached = [...repo.revisions].filter((d) => !kept.has(d));
  const revisionTimes = await options.modTimes(unreached.map((d) => layout.manifestRevision(repo.name, d)));
  const young = unreached.filter((_, i) => (revisionTimes[i] ?? 0) > options.cutoff);
  if (young.length > 0) await keep(repo, young, marks, options, kept, true);
  const manifests: ManifestCandidate[] = [];
  unreached.forEach((d, i) => {
    const modTime = revisionTimes[i];
    if (modTime === undefined) return; // deleted since the listing
    if (kept.has(d)) {
      options.tally.manifest(modTime);
      return;
    }
    const subject = repo.manifests.get(d)?.subject;
    manifests.push(subject ? { repository: repo.name, digest: d, subject } : { repository: repo.name, digest: d });
  });
  const pending = repo.links.filter((d) => !marks.isStoredAndMarked(d));
  const linkTimes = await options.modTimes(pending.map((d) => layout.layerLink(repo.name, d)));
  const danglingLinks: RepositoryDigest[] = [];
  const unmarkedLinks: RepositoryDigest[] = [];
  pending.forEach((d, i) => {
    const modTime = linkTimes[i];
    if (modTime === undefined) return; // deleted since the listing
    if (modTime > options.cutoff) marks.markLinked(d, modTime); // a recent link is a recent use: its blob stays
    else if (!marks.isStored(d)) danglingLinks.push({ repository: repo.name, digest: d });
    else if (!marks.isMarkedBeyondGrace(d)) unmarkedLinks.push({ repository: repo.name, digest: d });
  });
  return { manifests, danglingLinks, unmarkedLinks };
}
