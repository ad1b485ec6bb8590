/**
 * The garbage collector: one run = take the lease, apply retention, scan and mark, persist the
 * sweep phase, sweep (re-checking every candidate's touch marker right before deleting it), purge
 * abandoned uploads and temporary files, release the lease. Safe while the registry serves pushes
 * and pulls; the protocol is described in protocol.ts and in docs/garbage-collection.md. A dry run takes no lease
 * and deletes nothing, and reports what a run would delete at that moment.
 */
import { randomUUID } from 'node:crypto';
import type { Config, RetentionRule } from '../config/schema.js';
import type { Digest } from '../oci/digest.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { watchedByCatalog } from '../registry/catalog.js';
import { ReferrersIndex } from '../registry/referrers.js';
import { statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { scanInventory, type Inventory } from './inventory.js';
import { GcLease, type LeaseOptions } from './lease.js';
import { explainKept, type KeptByGrace } from './kept.js';
import { mark, type MarkOptions, type MarkResult, type Marker } from './mark.js';
import { isTouched, touchedDigests, writeCandidates } from './protocol.js';
import { purgeAbandoned } from './purge.js';
import { deleteTagIfUnchanged, readPullTimes, RetentionPolicy, type TagDeletion } from './retention.js';

/** What one run does. */
export interface GcOptions {
  /** report only: no lease, nothing deleted */
  dryRun: boolean;
  /** delete manifests no tag reaches, in every repository (retention rules may turn it on per repository) */
  deleteUntagged: boolean;
  /** nothing modified more recently than this is swept, in ms (0 allowed) */
  graceMs: number;
  /** upload sessions and temporary files idle for longer than this are purged, in ms */
  uploadPurgeAgeMs: number;
  retention: readonly RetentionRule[];
  /** lease timing (tests shorten it) */
  lease?: LeaseOptions;
  /** the clock, ms since the epoch */
  now?: () => number;
}

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
  /** per repository, only those the run changed */
  repositories: Record<string, RepositoryReport>;
}

/** The run options from the configuration's `gc` section, with a request's overrides (`graceMs`: `wharf gc --grace`). */
export function gcOptionsFrom(gc: Config['gc'], overrides: { dryRun?: boolean; deleteUntagged?: boolean; graceMs?: number } = {}): GcOptions {
  return {
    dryRun: overrides.dryRun ?? false,
    deleteUntagged: overrides.deleteUntagged === true || gc.deleteuntagged,
    graceMs: overrides.graceMs ?? gc.grace,
    uploadPurgeAgeMs: gc.uploadpurge.age,
    retention: gc.retention,
  };
}

/**
 * One garbage collection run, in steps (tests interleave pushes between them); {@link complete}
 * runs them all.
 */
export class GcRun {
  readonly #driver: StorageDriver;
  readonly #options: GcOptions;
  readonly #lease: GcLease | undefined;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #policy: RetentionPolicy;
  readonly #report: GcReport;
  #inventory: Inventory | undefined;
  #marker: Marker | undefined;
  #candidates: MarkResult | undefined;

  private constructor(driver: StorageDriver, options: GcOptions, runId: layout.GcRunId, lease: GcLease | undefined) {
    // the run's deletes reach the catalog cache of this process's Registry on the same driver, as its own deletes do
    this.#driver = watchedByCatalog(driver);
    this.#options = options;
    this.#lease = lease;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#policy = new RetentionPolicy(options.retention);
    this.#report = {
      runId,
      dryRun: options.dryRun,
      deleteUntagged: options.deleteUntagged,
      startedAt: new Date(this.#startedAt).toISOString(),
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
      keptByGrace: { manifests: 0, blobs: 0, bytes: 0, collectableBy: null },
      untaggedKept: 0,
      repositories: {},
    };
  }

  /**
   * Starts a run: takes the GC lease (a dry run takes none) and clears touch markers that ended runs left.
   * @throws GcBusyError when another run holds the lease
   */
  static async start(driver: StorageDriver, options: GcOptions, runId: layout.GcRunId = randomUUID() as layout.GcRunId): Promise<GcRun> {
    const lease = options.dryRun ? undefined : await GcLease.acquire(driver, runId, { now: options.now, ...options.lease });
    const run = new GcRun(driver, options, runId, lease);
    if (lease) {
      try {
        for (const old of (await driver.list(layout.gcMarkers())).filter(layout.isGcRunId)) {
          if (old !== runId) await driver.delete(layout.gcRunMarkers(old));
        }
      } catch (err) {
        await run.release();
        throw err;
      }
    }
    return run;
  }

  /** The run's id. */
  get id(): layout.GcRunId {
    return this.#report.runId as layout.GcRunId;
  }

  /** Runs every step and releases the lease, also on failure. */
  async complete(): Promise<GcReport> {
    try {
      return await this.execute();
    } finally {
      await this.release();
    }
  }

  /** Runs every step; the caller releases the lease (after recording the outcome, so a reader never sees a finished lease with a "running" record). */
  async execute(): Promise<GcReport> {
    await this.mark();
    await this.sweep();
    return this.finish();
  }

  /** Step 1 (phase "mark"): scan, apply retention, mark. Deletes only retention's tags. */
  async mark(): Promise<void> {
    const inventory = await scanInventory(this.#driver);
    const ignored = new Map<RepositoryName, Set<Tag>>();
    for (const repo of inventory.repositories) {
      const pulls = this.#policy.needsPullTimes(repo.name) ? await readPullTimes(this.#driver, repo.name, [...repo.tags.keys()]) : undefined;
      for (const deletion of this.#policy.plan(repo.name, repo.tags, this.#startedAt, pulls)) {
        if (!this.#options.dryRun) {
          await this.#lease!.assertHeld();
          if (!(await deleteTagIfUnchanged(this.#driver, deletion))) continue;
        }
        this.tagDeleted(deletion, ignored);
      }
    }
    const options: MarkOptions = {
      cutoff: this.#startedAt - this.#options.graceMs,
      deleteUntagged: (name) => this.#options.deleteUntagged || this.#policy.deletesUntagged(name),
      ignoredTags: (name) => ignored.get(name) ?? new Set(),
    };
    const { marker, result } = mark(inventory, options);
    Object.assign(this.#report, explainKept(inventory, options, result, this.#startedAt, this.#options.graceMs));
    this.#inventory = inventory;
    this.#marker = marker;
    this.#candidates = result;
  }

  /**
   * Step 2 (candidate markers, then phase "sweep", persisted first): deletes unreached manifests, then unneeded blobs with
   * their links, then links to no blob. Each candidate's touch marker is checked right before it is
   * deleted; a touched manifest is kept with everything it reaches.
   */
  async sweep(): Promise<void> {
    const inventory = this.#inventory!;
    const marker = this.#marker!;
    const { manifestCandidates, blobCandidates, danglingLinks } = this.#candidates!;
    const lease = this.#lease;
    if (lease) {
      // Before the phase changes: a push that reads "sweep" finds every digest this run may delete,
      // and waits for the run to end only when it relies on one of them.
      await writeCandidates(this.#driver, lease.runId, [
        ...manifestCandidates.map((c) => c.digest),
        ...blobCandidates.map((b) => b.digest),
        ...danglingLinks.map((l) => l.digest),
      ]);
      await lease.setPhase('sweep');
      const touched = await touchedDigests(this.#driver, lease.runId);
      for (const c of manifestCandidates) {
        if (!touched.has(c.digest) || marker.isKept(c.repository, c.digest)) continue;
        marker.keep(c.repository, c.digest);
        this.#report.keptTouched += 1;
      }
    }
    const referrers = new ReferrersIndex(this.#driver);
    for (const c of manifestCandidates) {
      if (marker.isKept(c.repository, c.digest)) continue;
      if (await this.touched(c.digest)) {
        marker.keep(c.repository, c.digest);
        continue;
      }
      if (!this.#options.dryRun) {
        await this.#driver.delete(layout.manifestRevision(c.repository, c.digest));
        const subject = inventory.manifests.get(c.digest)?.subject;
        if (subject) await referrers.remove(c.repository, subject, c.digest);
      }
      this.#report.manifestsDeleted += 1;
      this.repo(c.repository).manifestsDeleted += 1;
    }
    for (const blob of blobCandidates) {
      if (marker.marked.has(blob.digest) || (await this.touched(blob.digest))) continue;
      if (!this.#options.dryRun) await this.#driver.delete(layout.blobData(blob.digest));
      this.#report.blobsDeleted += 1;
      this.#report.bytesFreed += blob.size;
      for (const repo of inventory.repositories) {
        if (!repo.links.has(blob.digest)) continue;
        if (!this.#options.dryRun) await this.#driver.delete(layout.layerLink(repo.name, blob.digest));
        this.linkDeleted(repo.name);
        this.repo(repo.name).bytesFreed += blob.size;
      }
    }
    for (const link of danglingLinks) {
      if (await this.touched(link.digest)) continue;
      if ((await statIfExists(this.#driver, layout.blobData(link.digest))) !== undefined) continue; // stored since the scan
      if (!this.#options.dryRun) await this.#driver.delete(layout.layerLink(link.repository, link.digest));
      this.linkDeleted(link.repository);
    }
  }

  /** Step 3: purges abandoned uploads and temporary files; returns the report. */
  async finish(): Promise<GcReport> {
    const purged = await purgeAbandoned(this.#driver, this.#now() - this.#options.uploadPurgeAgeMs, this.#options.dryRun);
    Object.assign(this.#report, purged);
    const finished = this.#now();
    this.#report.finishedAt = new Date(finished).toISOString();
    this.#report.durationMs = finished - this.#startedAt;
    return this.#report;
  }

  /**
   * Ends the run's lease (phase "done") and removes its touch markers; nothing for a dry run. Its
   * candidate markers stay until the next run starts: a push that finds something it relies on gone
   * reads them to tell a collection's delete from a client's (GcGuard.removedByGc).
   */
  async release(): Promise<void> {
    if (!this.#lease) return;
    await this.#lease.release();
    // A push that read the lease just before it ended may still write a marker here; the next run
    // removes what is left (see start), so a failure to remove them all now is not the run's failure.
    await this.#driver.delete(layout.gcRunTouched(this.#lease.runId)).catch(() => undefined);
  }

  /**
   * Right before a delete: checks that this run still holds its lease, and whether a push touched `digest`.
   * @throws GcLeaseLostError
   */
  private async touched(digest: Digest): Promise<boolean> {
    if (!this.#lease) return false;
    await this.#lease.assertHeld();
    if (!(await isTouched(this.#driver, this.#lease.runId, digest))) return false;
    this.#report.keptTouched += 1;
    return true;
  }

  private tagDeleted(deletion: TagDeletion, ignored: Map<RepositoryName, Set<Tag>>): void {
    ignored.set(deletion.repository, (ignored.get(deletion.repository) ?? new Set()).add(deletion.tag));
    this.#report.tagsDeleted += 1;
    this.repo(deletion.repository).tagsDeleted += 1;
  }

  private linkDeleted(name: RepositoryName): void {
    this.#report.linksDeleted += 1;
    this.repo(name).linksDeleted += 1;
  }

  private repo(name: RepositoryName): RepositoryReport {
    return (this.#report.repositories[name] ??= { tagsDeleted: 0, manifestsDeleted: 0, linksDeleted: 0, bytesFreed: 0 });
  }
}

/**
 * Runs a whole garbage collection.
 * @throws GcBusyError when another run holds the lease; GcLeaseLostError when this run lost it midway
 */
export async function collectGarbage(driver: StorageDriver, options: GcOptions): Promise<GcReport> {
  return (await GcRun.start(driver, options)).complete();
}
