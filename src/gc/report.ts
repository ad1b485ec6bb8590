/**
 * The shapes of garbage collection's reports, progress and run records, as the admin API answers
 * them (`GET /admin/v1/gc`, docs/admin-api.md) and the web page reads them (src/ui/web/views/storage.tsx
 * imports these types), and the small pure functions that build and bound a report: nothing from
 * Node, so the page's bundle can share the types.
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

/** The phase a run is in: reading repositories and marking, deleting, purging uploads. */
export type GcPhase = 'mark' | 'sweep' | 'purge';

/** How far a running run got (a snapshot, stored in its record about once a second). */
export interface GcProgress {
  phase: GcPhase;
  /** ISO 8601 of the snapshot */
  at: string;
  /** blobs in the store when the run listed it (0 until listed) */
  blobsStored: number;
  /** repositories to read (0 until listed) */
  repositories: number;
  /** repositories read so far (phase mark) */
  repositoriesVisited: number;
  /** manifests those repositories hold */
  manifestsVisited: number;
  tagsDeleted: number;
  manifestsDeleted: number;
  /** blobs nothing needed, that the sweep checks once more before deleting them */
  blobCandidates: number;
  /** candidates checked so far (phase sweep) */
  blobsChecked: number;
  blobsDeleted: number;
  /** bytes of the blobs deleted so far */
  bytesFreed: number;
}

/** The state of a recorded run. */
export type GcRunState = 'running' | 'succeeded' | 'failed';

/** A run record, as the admin API answers it. */
export interface GcRunRecord {
  id: string;
  state: GcRunState;
  dryRun: boolean;
  deleteUntagged: boolean;
  /** ISO 8601 */
  startedAt: string;
  /** ISO 8601; null while running */
  finishedAt: string | null;
  /** while running, how far it got (null in records of older versions); null once it ended */
  progress: GcProgress | null;
  report: GcReport | null;
  /** why it failed; null otherwise */
  error: string | null;
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
