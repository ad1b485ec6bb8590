/**
 * The sweep of a garbage collection run (phase "sweep", after the candidates were persisted; see
 * protocol.ts): unreached manifests, then unneeded blobs, then every repository's links to the swept
 * blobs, then links to no blob. Right before each delete it checks that the run still holds its lease
 * and that no push touched the digest (in a listing of the run's touch markers at most a quarter of a
 * second old); a touched manifest is kept with everything it reaches, read again from storage. In a dry
 * run it deletes nothing and counts the same.
 */
import type { LimitFunction } from 'p-limit';
import type { Digest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/reference.js';
import { DigestTable } from '../registry/digest-table.js';
import { forEachLimit } from '../registry/limit.js';
import { ReferrersIndex } from '../registry/referrers.js';
import { statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import type { GcReport, RepositoryReport } from './report.js';
import type { GcLease } from './lease.js';
import { keep, type ManifestCandidate, type MarkSet, type RepositoryDigest } from './mark.js';
import { touchedDigests } from './protocol.js';
import { linkedDigests, readReferences, scanRepository } from './scan.js';

/** The entry of repository `name` in `report`, made when absent. */
export function repositoryEntry(report: GcReport, name: string): RepositoryReport {
  return (report.repositories[name] ??= { tagsDeleted: 0, manifestsDeleted: 0, linksDeleted: 0, bytesFreed: 0 });
}

/** ms: the longest a listing of the run's touch markers answers the checks before a delete. */
const TOUCHES_MAX_AGE_MS = 250;

/** How many deletes the sweep keeps in flight. */
const DELETES_IN_FLIGHT = 16;

/** One run's sweep. */
export class Sweep {
  /** `repository\ndigest` of manifests kept because a push touched them (or something reaching them) during the run */
  readonly #rekept = new Set<string>();
  /** the swept blobs and their sizes, for the links pass */
  readonly #swept = new DigestTable({ size: Float64Array });
  readonly #referrers: ReferrersIndex;
  #listing: Promise<Set<Digest>> | undefined;
  #touchedAt = -Infinity;
  /** blob candidates checked so far (deleted or kept), for the run's progress */
  blobsChecked = 0;
  /** the folders of the objects deleted (storage paths), removed when left empty once the sweep is done ({@link removeEmptyFolders}) */
  readonly #emptied = new Set<string>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly read: LimitFunction,
    private readonly marks: MarkSet,
    private readonly report: GcReport,
    private readonly options: { dryRun: boolean; lease: GcLease | undefined; throwIfStopped: () => void },
  ) {
    this.#referrers = new ReferrersIndex(driver);
  }

  /** Keeps the manifest candidates that pushes touched before the sweep began (with what they reach). */
  async keepTouchedManifests(candidates: readonly ManifestCandidate[]): Promise<void> {
    const lease = this.options.lease;
    if (!lease) return;
    const touched = await this.#touches(lease, true);
    if (touched.size === 0) return;
    for (const c of candidates) {
      if (!touched.has(c.digest) || this.#rekept.has(`${c.repository}\n${c.digest}`)) continue;
      await this.#keep(c);
      this.report.keptTouched += 1;
    }
  }

  /** Deletes the manifest candidates nothing kept meanwhile (their revision links and referrer entries). */
  async manifests(candidates: readonly ManifestCandidate[]): Promise<void> {
    await forEachLimit(candidates, DELETES_IN_FLIGHT, async (c) => {
      this.options.throwIfStopped();
      if (this.#rekept.has(`${c.repository}\n${c.digest}`)) return;
      if (await this.#touched(c.digest)) {
        await this.#keep(c);
        return;
      }
      if (!this.options.dryRun) {
        await this.driver.delete(layout.manifestRevision(c.repository, c.digest), { emptied: this.#emptied });
        if (c.subject) await this.#referrers.remove(c.repository, c.subject, c.digest);
      }
      this.report.manifestsDeleted += 1;
      repositoryEntry(this.report, c.repository).manifestsDeleted += 1;
    });
  }

  /** Deletes the blob candidates (`sizes[i]` bytes each) that nothing marked or touched meanwhile. */
  async blobs(digests: readonly Digest[], sizes: readonly number[]): Promise<void> {
    await forEachLimit(digests.keys(), DELETES_IN_FLIGHT, async (i) => {
      this.options.throwIfStopped();
      const d = digests[i]!;
      if (this.marks.isMarked(d) || (await this.#touched(d))) {
        this.blobsChecked += 1;
        return;
      }
      if (!this.options.dryRun) await this.driver.delete(layout.blobData(d), { emptied: this.#emptied });
      this.blobsChecked += 1;
      const id = this.#swept.add(d); // before reading `columns`: adding may grow (replace) them
      this.#swept.columns.size[id] = sizes[i]!;
      this.report.blobsDeleted += 1;
      this.report.bytesFreed += sizes[i]!;
    });
  }

  /**
   * The links pass (nothing to do when no blob was swept): lists the links of every repository in
   * `names` and deletes those to swept blobs; a dry run counts them from `recorded` instead ({@link recordedLinks}).
   */
  async links(names: readonly RepositoryName[], repositoriesInFlight: number, recorded: readonly RepositoryDigest[]): Promise<void> {
    if (this.#swept.size === 0) return;
    if (this.options.dryRun) return this.#recordedLinks(recorded);
    await forEachLimit(names, repositoriesInFlight, async (name) => {
      this.options.throwIfStopped();
      const links = (await linkedDigests(this.driver, this.read, name)).filter((d) => this.#swept.id(d) >= 0);
      // a repository's links to swept blobs, DELETES_IN_FLIGHT at a time (one after the other, each waited on the one before)
      await forEachLimit(links, DELETES_IN_FLIGHT, async (d) => {
        this.options.throwIfStopped();
        await this.read(() => this.driver.delete(layout.layerLink(name, d), { emptied: this.#emptied }));
        this.#linkDeleted(name);
        repositoryEntry(this.report, name).bytesFreed += this.#swept.columns.size[this.#swept.id(d)]!;
      });
    });
  }

  /**
   * A dry run's links pass: counts, of `links` (each repository's links whose blob was not marked
   * when the repository was read, see markRepository), those to swept blobs. The same links
   * the links pass finds on a registry that does not change meanwhile, without listing every
   * repository again; a run that deletes lists them again, so that a link made during the run goes too.
   */
  #recordedLinks(links: readonly RepositoryDigest[]): void {
    for (const { repository, digest } of links) {
      const id = this.#swept.id(digest);
      if (id < 0) continue;
      this.#linkDeleted(repository);
      repositoryEntry(this.report, repository).bytesFreed += this.#swept.columns.size[id]!;
    }
  }

  /**
   * Deletes links to blobs that were not stored, unless a push touched them or the blob was stored
   * since; {@link DELETES_IN_FLIGHT} at a time (a registry whose blobs were removed by hand has one
   * per repository and layer: one after the other, each stat waited on the one before).
   */
  async danglingLinks(links: readonly RepositoryDigest[]): Promise<void> {
    await forEachLimit(links, DELETES_IN_FLIGHT, async (link) => {
      this.options.throwIfStopped();
      if (await this.#touched(link.digest)) return;
      if ((await statIfExists(this.driver, layout.blobData(link.digest))) !== undefined) return; // stored since the listing
      if (!this.options.dryRun) await this.driver.delete(layout.layerLink(link.repository, link.digest), { emptied: this.#emptied });
      this.#linkDeleted(link.repository);
    });
  }

  /**
   * Removes the folders the sweep's deletes left empty, each tried once (not after every delete:
   * a blob shard holds thousands of objects, and an attempt is a system call). Until then an empty
   * folder lists as empty.
   */
  async removeEmptyFolders(): Promise<void> {
    const folders = [...this.#emptied];
    this.#emptied.clear();
    await this.driver.removeEmptyFolders?.(folders);
  }

  #linkDeleted(name: RepositoryName): void {
    this.report.linksDeleted += 1;
    repositoryEntry(this.report, name).linksDeleted += 1;
  }

  /**
   * Right before a delete: checks that the run still holds its lease (a read of it at most
   * {@link TOUCHES_MAX_AGE_MS} old, see GcLease.assertHeld), and whether a push touched `digest`.
   * @throws GcLeaseLostError
   */
  async #touched(digest: Digest): Promise<boolean> {
    const lease = this.options.lease;
    if (!lease) return false;
    await lease.assertHeld(TOUCHES_MAX_AGE_MS);
    if (!(await this.#touches(lease, false)).has(digest)) return false;
    this.report.keptTouched += 1;
    return true;
  }

  /**
   * The digests pushes touched under this run: listed when the sweep begins, and again whenever the
   * listing is older than {@link TOUCHES_MAX_AGE_MS} (one listing shared by the checks meanwhile).
   * The first listing already holds every touch the sweep must honour: a push that read phase "mark"
   * after writing its touches wrote them before the run wrote "sweep"; one that read "sweep" waits for
   * the run's end when it relies on a candidate (protocol.ts). The later listings only narrow what a
   * lagging store could hide.
   */
  async #touches(lease: GcLease, fresh: boolean): Promise<Set<Digest>> {
    const now = Date.now();
    if (fresh || now - this.#touchedAt > TOUCHES_MAX_AGE_MS) {
      this.#touchedAt = now;
      this.#listing = touchedDigests(this.driver, lease.runId);
    }
    return this.#listing!;
  }

  /** Keeps candidate `c` and everything it reaches in its repository (read again now), marking their blobs. */
  async #keep(c: ManifestCandidate): Promise<void> {
    const repo = await scanRepository(this.driver, this.read, c.repository);
    const kept = await keep(repo, [c.digest], this.marks, { references: (d) => this.read(() => readReferences(this.driver, d)) });
    for (const d of kept) this.#rekept.add(`${c.repository}\n${d}`);
  }
}
