/**
 * Marking: which manifests each repository keeps and which blobs every kept manifest needs, and
 * from that the candidates a run may sweep. Pure over an {@link Inventory}; the sweep asks
 * {@link Marker.keep} again for manifests a push touched meanwhile.
 *
 * A repository keeps (roots, then everything they reach):
 * - every tagged manifest (tags that retention is deleting in this run excepted);
 * - every manifest younger than the grace period (its revision link is newer than `cutoff`);
 * - unless untagged manifests are deleted there, every other manifest that has no `subject`;
 * and from a kept manifest: an image index's child manifests, and the manifests whose `subject` it
 * is (its referrers). So a referrer follows its subject: kept while the subject is kept, deleted
 * with it. A kept manifest needs its own bytes and its config and layers.
 */
import type { Digest } from '../oci/digest.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import type { StoredBlob } from '../registry/stored-blobs.js';
import type { Inventory, RepositoryScan } from './inventory.js';

/** A digest in a repository: a manifest revision, or a blob link. */
export interface RepositoryDigest {
  repository: RepositoryName;
  digest: Digest;
}

/** What {@link mark} needs besides the inventory. */
export interface MarkOptions {
  /** ms since the epoch: anything modified after it is younger than the grace period and kept */
  cutoff: number;
  /** true when untagged manifests of the repository are deleted */
  deleteUntagged(repository: RepositoryName): boolean;
  /** tags that count as deleted (those retention deletes in this run) */
  ignoredTags(repository: RepositoryName): ReadonlySet<Tag>;
}

/** The mark's result: what is kept and what the sweep may delete. */
export interface MarkResult {
  /** manifest revisions no root reaches, all older than the cutoff */
  manifestCandidates: RepositoryDigest[];
  /** stored blobs no kept manifest needs, whose bytes and links are all older than the cutoff (a HEAD/GET refreshes a link: a use) */
  blobCandidates: StoredBlob[];
  /** blob links (older than the cutoff) whose blob is not stored */
  danglingLinks: RepositoryDigest[];
}

/** The mark state; {@link keep} extends it (the sweep re-keeps touched manifests). */
export class Marker {
  /** per repository, the kept manifest digests */
  readonly kept = new Map<RepositoryName, Set<Digest>>();
  /** every blob digest a kept manifest needs (its own bytes, config, layers) */
  readonly marked = new Set<Digest>();
  readonly #referrers = new Map<RepositoryName, Map<Digest, Digest[]>>();

  constructor(private readonly inventory: Inventory) {
    for (const repo of inventory.repositories) {
      const bySubject = new Map<Digest, Digest[]>();
      for (const d of repo.revisions.keys()) {
        const subject = inventory.manifests.get(d)?.subject;
        if (subject) bySubject.set(subject, [...(bySubject.get(subject) ?? []), d]);
      }
      this.#referrers.set(repo.name, bySubject);
      this.kept.set(repo.name, new Set());
    }
  }

  /** Keeps manifest `digest` of `repository` and everything it reaches: an index's children, its blobs, its referrers. */
  keep(repository: RepositoryName, digest: Digest): void {
    const kept = this.kept.get(repository) ?? new Set<Digest>();
    this.kept.set(repository, kept);
    const stack = [digest];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (kept.has(d)) continue;
      kept.add(d);
      this.marked.add(d);
      const refs = this.inventory.manifests.get(d);
      if (refs) {
        for (const b of refs.blobs) this.marked.add(b);
        stack.push(...refs.children);
      }
      stack.push(...(this.#referrers.get(repository)?.get(d) ?? []));
    }
  }

  /** True when manifest `digest` of `repository` is kept. */
  isKept(repository: RepositoryName, digest: Digest): boolean {
    return this.kept.get(repository)?.has(digest) ?? false;
  }
}

/** Marks from every repository's roots and lists the sweep's candidates. */
export function mark(inventory: Inventory, options: MarkOptions): { marker: Marker; result: MarkResult } {
  const marker = new Marker(inventory);
  for (const repo of inventory.repositories) {
    for (const root of roots(repo, inventory, options)) marker.keep(repo.name, root);
  }
  const manifestCandidates = inventory.repositories.flatMap((repo) =>
    [...repo.revisions.keys()].filter((d) => !marker.isKept(repo.name, d)).map((digest) => ({ repository: repo.name, digest })),
  );
  const newestLink = new Map<Digest, number>();
  for (const repo of inventory.repositories) {
    for (const [d, t] of repo.links) newestLink.set(d, Math.max(t, newestLink.get(d) ?? 0));
  }
  const blobCandidates = [...inventory.blobs.values()].filter(
    (b) => !marker.marked.has(b.digest) && Math.max(b.modTime, newestLink.get(b.digest) ?? 0) <= options.cutoff,
  );
  const danglingLinks = inventory.repositories.flatMap((repo) =>
    [...repo.links].filter(([d, t]) => !inventory.blobs.has(d) && t <= options.cutoff).map(([digest]) => ({ repository: repo.name, digest })),
  );
  return { marker, result: { manifestCandidates, blobCandidates, danglingLinks } };
}

function roots(repo: RepositoryScan, inventory: Inventory, options: MarkOptions): Digest[] {
  const ignored = options.ignoredTags(repo.name);
  const found = [...repo.tags].filter(([t]) => !ignored.has(t)).map(([, link]) => link.digest);
  const deleteUntagged = options.deleteUntagged(repo.name);
  for (const [d, modTime] of repo.revisions) {
    if (modTime > options.cutoff) found.push(d);
    else if (!deleteUntagged && !inventory.manifests.get(d)?.subject) found.push(d);
  }
  return found;
}
