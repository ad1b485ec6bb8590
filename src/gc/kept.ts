/**
 * Why a run kept what it kept: a newcomer who deletes an image and runs `wharf gc` should not see
 * "0 bytes freed" without a reason. Two causes are counted, each by marking the same inventory once
 * more without it and comparing the candidates:
 *
 * - the grace period: manifests and blobs modified within `gc.grace` (or reached only from such a
 *   manifest), with their bytes and the moment all of them are old enough to go;
 * - untagged manifests kept because untagged manifests are not deleted there (`gc.deleteuntagged`,
 *   `--delete-untagged`, a retention rule's `deleteuntagged`), counted apart from the grace period.
 */
import type { Digest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/reference.js';
import type { Inventory } from './inventory.js';
import { mark, type MarkOptions, type MarkResult } from './mark.js';

/** What a run kept only because it was younger than the grace period. */
export interface KeptByGrace {
  manifests: number;
  blobs: number;
  /** bytes of those blobs (manifests' own bytes included: they are blobs too) */
  bytes: number;
  /** ISO 8601: when every one of them is older than the grace period (if nothing uses them meanwhile); null when none */
  collectableBy: string | null;
}

/** The explanation of a run's keeps, for its report. */
export interface KeptReport {
  keptByGrace: KeptByGrace;
  /** manifest revisions no tag reaches, kept because untagged manifests are not deleted in their repository */
  untaggedKept: number;
}

const key = (c: { repository: RepositoryName; digest: Digest }): string => `${c.repository}@${c.digest}`;

/**
 * Compares the candidates of a run (`actual`, marked with `options`) with those of a run without a
 * grace period and of one that also deletes untagged manifests everywhere.
 * @param graceMs the run's grace period (ms), for {@link KeptByGrace.collectableBy}
 */
export function explainKept(inventory: Inventory, options: MarkOptions, actual: MarkResult, startedAt: number, graceMs: number): KeptReport {
  const graceless = graceMs > 0 ? mark(inventory, { ...options, cutoff: startedAt }).result : actual;
  const everything = mark(inventory, { ...options, cutoff: startedAt, deleteUntagged: () => true }).result;

  const actualManifests = new Set(actual.manifestCandidates.map(key));
  const actualBlobs = new Set(actual.blobCandidates.map((b) => b.digest));
  const graceManifests = graceless.manifestCandidates.filter((c) => !actualManifests.has(key(c)));
  const graceBlobs = graceless.blobCandidates.filter((b) => !actualBlobs.has(b.digest));

  let newest = -Infinity;
  const repositories = new Map(inventory.repositories.map((r) => [r.name, r]));
  for (const c of graceManifests) newest = Math.max(newest, repositories.get(c.repository)?.revisions.get(c.digest) ?? -Infinity);
  if (graceBlobs.length > 0) {
    const linked = new Map<Digest, number>();
    for (const repo of inventory.repositories) for (const [d, t] of repo.links) linked.set(d, Math.max(t, linked.get(d) ?? -Infinity));
    for (const b of graceBlobs) newest = Math.max(newest, b.modTime, linked.get(b.digest) ?? -Infinity);
  }

  const gracelessManifests = new Set(graceless.manifestCandidates.map(key));
  return {
    keptByGrace: {
      manifests: graceManifests.length,
      blobs: graceBlobs.length,
      bytes: graceBlobs.reduce((sum, b) => sum + b.size, 0),
      collectableBy: Number.isFinite(newest) ? new Date(newest + graceMs).toISOString() : null,
    },
    untaggedKept: everything.manifestCandidates.filter((c) => !gracelessManifests.has(key(c))).length,
  };
}
