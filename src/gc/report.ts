/**
 * The report of a garbage collection run: what it deleted (or, in a dry run, would delete), per
 * repository and in total, what it kept and why, and how long it took; bounded for the run records
 * the admin API keeps.
 */
import type { KeptByGrace } from './kept.js';

/** What a run did to one repository. */
export interface RepositoryReport {
  tagsDeleted: number;
  manifestsDeleted: number;
  /** blob links removed (of swept blobs, or pointing at no stored blob) */
  linksDeleted: number;
  /** bytes of the swept blobs this repository linked (a blob several repositories linked counts in each) */
  bytesFreed: number;
}

/** The report of a run: counts, bytes and times; in a dry run, what a run would have deleted. */
export interface GcReport {
  runId: string;
  dryRun: boolean;
  deleteUntagged: boolean;
  /** ISO 8601 */
  startedAt: string;
  /** ISO 8601 */
  finishedAt: string;
  durationMs: number;
  graceMs: number;
  /** tags deleted by retention rules */
  tagsDeleted: number;
  manifestsDeleted: number;
  /** blobs swept from the shared store (layers, configs and manifests' bytes) */
  blobsDeleted: number;
  /** bytes of the swept blobs */
  bytesFreed: number;
  linksDeleted: number;
  /** candidates kept because a push used them during the run */
  keptTouched: number;
  uploadsPurged: number;
  uploadBytesFreed: number;
  temporariesRemoved: number;
  temporaryBytesFreed: number;
  /** what was kept only because it is younger than the grace period, and when it can go */
  keptByGrace: KeptByGrace;
  /** manifests no tag reaches, kept because untagged manifests are not deleted there */
  untaggedKept: number;
  /** repositories the run read */
  repositoriesScanned: number;
  /** blobs in the store when the run listed it */
  blobsScanned: number;
  /** per repository, only those the run changed (in a stored run record, the {@link REPORTED_REPOSITORIES} that freed most) */
  repositories: Record<string, RepositoryReport>;
  /** in a stored run record: how many changed repositories `repositories` leaves out (absent when none) */
  repositoriesOmitted?: number;
}

/** How many repositories a stored run record lists (those that freed most bytes, then deleted most manifests). */
export const REPORTED_REPOSITORIES = 1000;

/** `report` with at most {@link REPORTED_REPOSITORIES} repositories, for a run record; the report itself when it has fewer. */
export function boundedReport(report: GcReport): GcReport {
  const entries = Object.entries(report.repositories);
  if (entries.length <= REPORTED_REPOSITORIES) return report;
  entries.sort(([an, a], [bn, b]) => b.bytesFreed - a.bytesFreed || b.manifestsDeleted - a.manifestsDeleted || (an < bn ? -1 : 1));
  return { ...report, repositories: Object.fromEntries(entries.slice(0, REPORTED_REPOSITORIES)), repositoriesOmitted: entries.length - REPORTED_REPOSITORIES };
}

/** The report of run `runId` before it did anything. */
export function emptyReport(runId: string, options: { dryRun: boolean; deleteUntagged: boolean; graceMs: number }, startedAt: number): GcReport {
  return {
    runId,
    dryRun: options.dryRun,
    deleteUntagged: options.deleteUntagged,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: '',
    durationMs: 0,
    graceMs: options.graceMs,
    tagsDeleted: 0,
    manifestsDeleted: 0,
    blobsDeleted: 0,
    bytesFreed: 0,
    linksDeleted: 0,
    keptTouched: 0,
    uploadsPurged: 0,
    uploadBytesFreed: 0,
    temporariesRemoved: 0,
    temporaryBytesFreed: 0,
    repositoriesScanned: 0,
    blobsScanned: 0,
    keptByGrace: { manifests: 0, blobs: 0, bytes: 0, collectableBy: null },
    untaggedKept: 0,
    repositories: {},
  };
}
