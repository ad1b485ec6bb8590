/**
 * The garbage collector: one run = take the lease, then (phase "mark") list the blob store, read the
 * repositories one at a time (applying retention, marking what each keeps), and list the blob store
 * again for the unneeded blobs; persist the candidates and the sweep phase; sweep (re-checking every
 * candidate's touch marker right before deleting it); purge abandoned uploads and temporary files;
 * release the lease. Safe while the registry serves pushes and pulls; the protocol is described in
 * protocol.ts and in docs/garbage-collection.md. A dry run takes no lease and deletes nothing, and reports what a run would
 * delete at that moment; it does not start while another run holds the lease (its report would
 * describe objects being deleted under it).
 *
 * Time and memory are linear in the registry's size: every repository is read once to mark (and its
 * blob links listed once more when a deleting run swept blobs), the blob store listed twice, shard by shard;
 * what stays in memory for the whole run is the mark set (about 23 bytes per blob, see mark.ts), the
 * repository names and the candidates. Storage requests go through one limiter.
 */
import { randomUUID } from 'node:crypto';
import type { Digest } from '../oci/digest.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { walkRepositories } from '../registry/catalog.js';
import { forEachLimit, limiter } from '../registry/limit.js';
import { watched } from '../registry/watched-driver.js';
import { statIfExists, type ListedFolders, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { readOnce } from '../storage/read-once.js';
import { GcBusyError, GcLease, GcStoppedError } from './lease.js';
import { KeptTally } from './kept.js';
import { MarkSet, markRepository, type ManifestCandidate, type RepositoryDigest } from './mark.js';
import type { GcOptions } from './options.js';
import { isActive, readLease, writeCandidates } from './protocol.js';
import { purgeAbandoned } from './purge.js';
import { emptyReport, type GcPhase, type GcProgress, type GcReport } from './report.js';
import { deleteTagIfUnchanged, readPullTimes, RetentionPolicy } from './retention.js';
import { forEachBlobShard, modTimes, readReferences, scanRepository, scannedFolder } from './scan.js';
import { repositoryEntry, Sweep } from './sweep.js';

export { boundedReport, REPORTED_REPOSITORIES, type GcReport, type RepositoryReport } from './report.js';

/** How many storage requests a run keeps in flight. */
const STORAGE_REQUESTS = 32;
/** How many repositories a run reads at once. */
const REPOSITORIES_IN_FLIGHT = 8;

/**
 * One garbage collection run, in steps (tests interleave pushes between them); {@link complete}
 * runs them all.
 */
export class GcRun {
  readonly #driver: StorageDriver;
  readonly #options: GcOptions;
  readonly #lease: GcLease | undefined;
  readonly #startedAt: number;
  readonly #policy: RetentionPolicy;
  readonly #report: GcReport;
  readonly #read = limiter(STORAGE_REQUESTS);
  readonly #marks = new MarkSet();
  #names: RepositoryName[] = [];
  readonly #manifestCandidates: ManifestCandidate[] = [];
  readonly #danglingLinks: RepositoryDigest[] = [];
  /** links whose blob was not marked when their repository was read (a dry run's links pass, see Sweep.links) */
  readonly #unmarkedLinks: RepositoryDigest[] = [];
  readonly #blobCandidates: { digests: Digest[]; sizes: number[] } = { digests: [], sizes: [] };
  #phase: GcPhase = 'mark';
  #repositoriesVisited = 0;
  #manifestsVisited = 0;
  #sweep: Sweep | undefined;
  #stopped: GcStoppedError | undefined;
  /** what the run lists whole (the blob shards, the scanned repositories' folders) and the temporary files found there, for the purge */
  readonly #listed: ListedFolders = { folders: [], temporaries: [] };

  private constructor(driver: StorageDriver, options: GcOptions, runId: layout.GcRunId, lease: GcLease | undefined) {
    // the run's deletes reach the catalog and the admin index of this process (and the index's journal), as a push's do;
    // it reads each object once: nothing it reads stays in the read cache
    this.#driver = readOnce(watched(driver));
    this.#options = options;
    this.#lease = lease;
    this.#startedAt = (options.now ?? Date.now)();
    this.#policy = new RetentionPolicy(options.retention);
    this.#report = emptyReport(runId, options, this.#startedAt);
  }

  /**
   * Starts a run: takes the GC lease and clears touch markers that ended runs left. A dry run takes
   * no lease (it writes nothing a push could wait for), but reads it, and does not start while a run holds it.
   * @throws GcBusyError when another run holds the lease
   */
  static async start(driver: StorageDriver, options: GcOptions, runId: layout.GcRunId = randomUUID() as layout.GcRunId): Promise<GcRun> {
    if (options.dryRun) {
      const holder = await readLease(driver);
      if (isActive(holder, (options.now ?? Date.now)())) throw new GcBusyError(holder);
    }
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

  /** How far the run got, now (cheap: counters only). */
  progress(): GcProgress {
    const r = this.#report;
    return {
      phase: this.#phase,
      at: new Date((this.#options.now ?? Date.now)()).toISOString(),
      blobsStored: this.#marks.size,
      repositories: this.#names.length,
      repositoriesVisited: this.#repositoriesVisited,
      manifestsVisited: this.#manifestsVisited,
      tagsDeleted: r.tagsDeleted,
      manifestsDeleted: r.manifestsDeleted,
      blobCandidates: this.#blobCandidates.digests.length,
      blobsChecked: this.#sweep?.blobsChecked ?? 0,
      blobsDeleted: r.blobsDeleted,
      bytesFreed: r.bytesFreed,
    };
  }

  /**
   * Stops the run at its next step (the next blob shard or repository it reads, the next candidate
   * it checks, the next delete, as a run that lost its lease): {@link execute} then throws
   * GcStoppedError. What was deleted stays deleted; what was not is left for the next run.
   */
  stop(reason: string): void {
    this.#stopped ??= new GcStoppedError(`garbage collection run ${this.id} stopped (${reason}): nothing more was deleted; start it again`);
    this.#lease?.stop(this.#stopped);
  }

  readonly #throwIfStopped = (): void => {
    if (this.#stopped) throw this.#stopped;
  };

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
    this.#throwIfStopped();
    await this.sweep();
    this.#throwIfStopped();
    return this.finish();
  }

  /**
   * Step 1 (phase "mark"): lists the blob store, reads every repository (deleting retention's tags,
   * marking what it keeps), then lists the blob store again for the stored blobs nothing needs.
   */
  async mark(): Promise<void> {
    const cutoff = this.#startedAt - this.#options.graceMs;
    await forEachBlobShard(this.#driver, this.#read, (digests, shards) => {
      this.#throwIfStopped();
      // sized once from the first shard (hashes spread evenly over the shards), with room for the blobs repositories name
      if (this.#marks.size === 0) this.#marks.expect(Math.ceil(digests.length * shards * 1.1));
      for (const d of digests) this.#marks.stored(d);
    });
    this.#report.blobsScanned = this.#marks.size;
    this.#names = await walkRepositories(this.#driver);
    this.#listed.alsoListed = scannedFolder(this.#names);
    const references = (d: Digest) => this.#read(() => readReferences(this.#driver, d));
    const times = (paths: readonly string[]) => modTimes(this.#driver, this.#read, paths);
    const tally = new KeptTally(this.#options.graceMs);
    await forEachLimit(this.#names, REPOSITORIES_IN_FLIGHT, async (name) => {
      this.#throwIfStopped();
      const repo = await scanRepository(this.#driver, this.#read, name, this.#listed.temporaries);
      this.#manifestsVisited += repo.manifests.size;
      const ignored = new Set<Tag>();
      const pulls = this.#policy.needsPullTimes(name) ? await readPullTimes(this.#driver, name, [...repo.tags.keys()]) : undefined;
      for (const deletion of this.#policy.plan(name, repo.tags, this.#startedAt, pulls)) {
        if (!this.#options.dryRun) {
          await this.#lease!.assertHeld();
          if (!(await deleteTagIfUnchanged(this.#driver, deletion))) continue;
        }
        ignored.add(deletion.tag);
        this.#report.tagsDeleted += 1;
        repositoryEntry(this.#report, name).tagsDeleted += 1;
      }
      const deleteUntagged = this.#options.deleteUntagged || this.#policy.deletesUntagged(name);
      const found = await markRepository(repo, this.#marks, { cutoff, deleteUntagged, ignoredTags: ignored, references, modTimes: times, tally });
      this.#manifestCandidates.push(...found.manifests);
      this.#danglingLinks.push(...found.danglingLinks);
      if (this.#options.dryRun) this.#unmarkedLinks.push(...found.unmarkedLinks);
      this.#repositoriesVisited += 1;
    });
    this.#report.repositoriesScanned = this.#names.length;
    // A blob stored after the first listing is not a candidate of this run.
    await forEachBlobShard(this.#driver, this.#read, async (digests) => {
      this.#throwIfStopped();
      const unneeded = digests.filter((d) => this.#marks.isStoredUnneeded(d));
      await Promise.all(
        unneeded.map((d) =>
          this.#read(async () => {
            const info = await statIfExists(this.#driver, layout.blobData(d));
            if (!info || info.isDir) return;
            const modTime = info.modTime.getTime();
            if (this.#marks.isMarked(d) || modTime > cutoff) {
              tally.blob(info.size, Math.max(modTime, this.#marks.linkedAt(d)));
              return;
            }
            this.#blobCandidates.digests.push(d);
            this.#blobCandidates.sizes.push(info.size);
          }),
        ),
      );
    }, this.#listed);
    Object.assign(this.#report, tally.report());
  }

  /**
   * Step 2 (candidate markers, then phase "sweep", persisted first): deletes unreached manifests, then
   * unneeded blobs, then the links to them and links to no blob. Each candidate's touch marker is
   * checked right before it is deleted; a touched manifest is kept with everything it reaches.
   */
  async sweep(): Promise<void> {
    const lease = this.#lease;
    if (lease) {
      // Before the phase changes: a push that reads "sweep" finds every digest this run may delete,
      // and waits for the run to end only when it relies on one of them.
      await writeCandidates(this.#driver, lease.runId, [
        ...this.#manifestCandidates.map((c) => c.digest),
        ...this.#blobCandidates.digests,
        ...this.#danglingLinks.map((l) => l.digest),
      ]);
      await lease.setPhase('sweep');
    }
    const sweep = new Sweep(this.#driver, this.#read, this.#marks, this.#report, { dryRun: this.#options.dryRun, lease, throwIfStopped: this.#throwIfStopped });
    this.#sweep = sweep;
    this.#phase = 'sweep';
    try {
      await sweep.keepTouchedManifests(this.#manifestCandidates);
      await sweep.manifests(this.#manifestCandidates);
      await sweep.blobs(this.#blobCandidates.digests, this.#blobCandidates.sizes);
      await sweep.links(this.#names, REPOSITORIES_IN_FLIGHT, this.#unmarkedLinks);
      await sweep.danglingLinks(this.#danglingLinks);
    } finally {
      await sweep.removeEmptyFolders();
    }
  }

  /** Step 3: purges abandoned uploads and temporary files; returns the report. */
  async finish(): Promise<GcReport> {
    const now = this.#options.now ?? Date.now;
    this.#phase = 'purge';
    const purged = await purgeAbandoned(this.#driver, now() - this.#options.uploadPurgeAgeMs, this.#options.dryRun, this.#listed);
    Object.assign(this.#report, purged);
    const finished = now();
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
}

/**
 * Runs a whole garbage collection.
 * @throws GcBusyError when another run holds the lease; GcLeaseLostError when this run lost it midway
 */
export async function collectGarbage(driver: StorageDriver, options: GcOptions): Promise<GcReport> {
  return (await GcRun.start(driver, options)).complete();
}
