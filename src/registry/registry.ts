/**
 * The registry service: the blob store, upload sessions, manifests, referrers and catalog over one
 * storage driver. Knows what a repository is; knows nothing of HTTP.
 */
import type { Logger } from 'pino';
import type { StorageDriver } from '../storage/driver.js';
import type { AdminIndex, AdminIndexOptions } from './admin-index/admin-index.js';
import { adminIndexOf } from './admin-index/admin-index-of.js';
import { BlobStore } from './blobs.js';
import { catalogOf, type Catalog } from './catalog.js';
import { GcGuard, type GcGuardOptions } from './gc-guard.js';
import { ManifestStore } from './manifests.js';
import { PullTimes } from './pull-times.js';
import { ReferrersIndex } from './referrers.js';
import { UploadSessions } from './uploads.js';
import { watched } from './watched-driver.js';

/** Options of {@link Registry}. */
export interface RegistryOptions {
  /** the clock, for upload start and tag push times */
  now?: () => Date;
  /** how pushes wait for a sweeping garbage collection (tests shorten the poll) */
  gcGuard?: GcGuardOptions;
  /** `gc.grace` in ms: blob HEAD/GET refresh the repository's link as a use (see BlobStoreOptions); default 0 (never) */
  gcGraceMs?: number;
  /** ms: how old the cached catalog may get before a request refreshes it (default CATALOG_MAX_AGE_MS, 5 s); its clock is `now` */
  catalogMaxAgeMs?: number;
  /** where failures in the background (a catalog walk, the admin index) are reported; default a pino logger on stdout */
  logger?: Logger;
  /** the admin index's timing (`admin.index`); its clock is `now` */
  adminIndex?: Pick<AdminIndexOptions, 'pollMs' | 'rebuildMs' | 'snapshotMs' | 'describedSizes'>;
}

/** The service layer the HTTP routes call. */
export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadSessions;
  readonly referrers: ReferrersIndex;
  readonly manifests: ManifestStore;
  readonly catalog: Catalog;
  /** when tags were last pulled (retention's `unpulledfor`) */
  readonly pulls: PullTimes;
  /** the admin index over the same storage (shared by every Registry of the process on the same driver instance), not started until used */
  readonly index: AdminIndex;
  /**
   * The storage driver every part uses (the admin API's too): the one given, reporting this
   * process's writes and deletes to the caches and indexes over it ({@link catalog}, the admin index).
   */
  readonly driver: StorageDriver;

  /**
   * @param storage the storage driver; Registries (and garbage collection runs) of one process built on
   *   the same driver instance share one catalog cache
   */
  constructor(storage: StorageDriver, options: RegistryOptions = {}) {
    const now = options.now ?? (() => new Date());
    this.catalog = catalogOf(storage, { maxAgeMs: options.catalogMaxAgeMs, now: () => now().getTime(), logger: options.logger });
    this.index = adminIndexOf(storage, { ...options.adminIndex, now: () => now().getTime(), logger: options.logger });
    const driver = watched(storage);
    this.driver = driver;
    this.blobs = new BlobStore(driver, new GcGuard(driver, options.gcGuard), { gcGraceMs: options.gcGraceMs });
    this.uploads = new UploadSessions(driver, this.blobs, now);
    this.referrers = new ReferrersIndex(driver);
    this.manifests = new ManifestStore(driver, this.blobs, this.referrers, now);
    this.pulls = new PullTimes(driver, () => now().getTime(), options.logger);
  }
}
