/**
 * The registry service: the blob store, upload sessions, manifests, referrers and catalog over one
 * storage driver. Knows what a repository is; knows nothing of HTTP.
 */
import type { StorageDriver } from '../storage/driver.js';
import { BlobStore } from './blobs.js';
import { Catalog } from './catalog.js';
import { GcGuard, type GcGuardOptions } from './gc-guard.js';
import { ManifestStore } from './manifests.js';
import { ReferrersIndex } from './referrers.js';
import { UploadSessions } from './uploads.js';

/** Options of {@link Registry}. */
export interface RegistryOptions {
  /** the clock, for upload start and tag push times */
  now?: () => Date;
  /** how pushes wait for a sweeping garbage collection (tests shorten the poll) */
  gcGuard?: GcGuardOptions;
  /** `gc.grace` in ms: blob HEAD/GET refresh the repository's link as a use (see BlobStoreOptions); default 0 (never) */
  gcGraceMs?: number;
}

/** The service layer the HTTP routes call. */
export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadSessions;
  readonly referrers: ReferrersIndex;
  readonly manifests: ManifestStore;
  readonly catalog: Catalog;

  constructor(
    readonly driver: StorageDriver,
    options: RegistryOptions = {},
  ) {
    const now = options.now ?? (() => new Date());
    this.blobs = new BlobStore(driver, new GcGuard(driver, options.gcGuard), { gcGraceMs: options.gcGraceMs });
    this.uploads = new UploadSessions(driver, this.blobs, now);
    this.referrers = new ReferrersIndex(driver);
    this.manifests = new ManifestStore(driver, this.blobs, this.referrers, now);
    this.catalog = new Catalog(driver);
  }
}
