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
 */
import type { Digest } from '../oci/digest.js';
import type { ManifestRefs } from '../oci/manifest.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { DigestTable } from '../registry/digest-table.js';
import * as layout from '../storage/layout.js';
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
}

const STORED = 1;
const MARKED = 2;

/**
 * The blobs of the store (as listed before the repositories were read) and which of them a kept
 * manifest or a recent link needs: one byte per blob plus its key in a {@link DigestTable}.
 */
export class MarkSet {
  readonly #table = new DigestTable({ flags: Uint8Array });

  /** Records `digest` as stored. */
  stored(digest: Digest): void {
    const id = this.#table.add(digest);
    this.#table.columns.flags[id]! |= STORED;
  }

  /** True when `digest` was listed as stored. */
  isStored(digest: Digest): boolean {
    const id = this.#table.id(digest);
    return id >= 0 && (this.#table.columns.flags[id]! & STORED) !== 0;
  }

  /** Marks `digest` as needed (a digest never stored is recorded as marked only). */
  mark(digest: Digest): void {
    const id = this.#table.add(digest);
    this.#table.columns.flags[id]! |= MARKED;
  }

  /** True when `digest` is needed. */
  isMarked(digest: Digest): boolean {
    const id = this.#table.id(digest);
    return id >= 0 && (this.#table.columns.flags[id]! & MARKED) !== 0;
  }

  /** How many digests the set holds. */
  get size(): number {
    return this.#table.size;
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
 * Keeps `roots` of `repo` and everything they reach, marking the blobs they need in `marks`.
 * @returns the kept manifests (revisions of the repository, and children reached elsewhere)
 */
export async function keep(repo: RepositoryScan, roots: Iterable<Digest>, marks: MarkSet, options: Pick<MarkOptions, 'references'>, kept = new Set<Digest>()): Promise<Set<Digest>> {
  const referrers = referrersBySubject(repo);
  const stack = [...roots];
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (kept.has(d)) continue;
    kept.add(d);
    marks.mark(d);
    const refs = repo.manifests.get(d) ?? (repo.revisions.has(d) ? undefined : await options.references(d));
    if (refs) {
      for (const b of refs.blobs) marks.mark(b);
      stack.push(...refs.children);
    }
    stack.push(...(referrers.get(d) ?? []));
  }
  return kept;
}

/**
 * Marks what `repo` keeps and needs. Modification times are read only where they decide something:
 * of the revisions no other root reaches (a young one is a root), and of the links whose blob is not
 * already marked and stored (a young link keeps its blob; an old one to a blob that is not stored
 * is dangling). A repository's links are mostly to what its own kept manifests use: those cost no read.
 * @returns the repository's manifest candidates (revisions no root reaches, all older than the cutoff),
 *   and its dangling links (older than the cutoff, to blobs that are not stored)
 */
export async function markRepository(repo: RepositoryScan, marks: MarkSet, options: MarkOptions): Promise<{ manifests: ManifestCandidate[]; danglingLinks: RepositoryDigest[] }> {
  const roots: Digest[] = [];
  for (const [t, link] of repo.tags) if (!options.ignoredTags.has(t)) roots.push(link.digest);
  if (!options.deleteUntagged) for (const d of repo.revisions) if (!repo.manifests.get(d)?.subject) roots.push(d);
  const kept = await keep(repo, roots, marks, options);
  const unreached = [...repo.revisions].filter((d) => !kept.has(d));
  const revisionTimes = await options.modTimes(unreached.map((d) => layout.manifestRevision(repo.name, d)));
  const young = unreached.filter((_, i) => (revisionTimes[i] ?? 0) > options.cutoff);
  if (young.length > 0) await keep(repo, young, marks, options, kept);
  const manifests: ManifestCandidate[] = [];
  unreached.forEach((d, i) => {
    if (kept.has(d) || revisionTimes[i] === undefined) return; // kept, or deleted since the listing
    const subject = repo.manifests.get(d)?.subject;
    manifests.push(subject ? { repository: repo.name, digest: d, subject } : { repository: repo.name, digest: d });
  });
  const pending = repo.links.filter((d) => !(marks.isMarked(d) && marks.isStored(d)));
  const linkTimes = await options.modTimes(pending.map((d) => layout.layerLink(repo.name, d)));
  const danglingLinks: RepositoryDigest[] = [];
  pending.forEach((d, i) => {
    const modTime = linkTimes[i];
    if (modTime === undefined) return; // deleted since the listing
    if (modTime > options.cutoff) marks.mark(d); // a recent link is a recent use: its blob stays
    else if (!marks.isStored(d)) danglingLinks.push({ repository: repo.name, digest: d });
  });
  return { manifests, danglingLinks };
}
