/**
 * A StorageDriver decorator that reports this process's own writes and deletes to the in-process
 * caches and indexes built over the same storage (the catalog, the admin index and its journal), so
 * they are exact within the process: a write is reported once it succeeded; a delete or a move
 * (reported at both ends) whether it succeeded or not, since a failed recursive delete may have
 * removed part of a folder. Every read passes through untouched, streams included (the filesystem's
 * direct send keeps working).
 *
 * Each driver instance has one {@link ChangeFeed} that every listener of the process subscribes to, and
 * {@link watched} wraps the driver so that its writes reach that feed: the Registry's and a garbage
 * collection run's writes alike.
 */
import type { Readable } from 'node:stream';
import type { RepositoryName } from '../oci/reference.js';
import type { AppendedState, AppendOptions, CommitOptions, DeleteOptions, StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { DriverDecorator } from '../storage/driver-decorator.js';

/** What {@link WatchedDriver} reports to: storage paths written, and paths deleted or moved away (objects or folders). */
export interface StorageChanges {
  written(path: string): void;
  removed(path: string): void;
}

/** What the catalog needs to know of the storage's changes (see {@link repositoryChanges}). */
export interface RepositoryChanges {
  /** An object of repository `name`'s content (blob link, manifest revision, tag) was written: the repository exists. */
  contentWritten(name: RepositoryName): void;
  /** Something under `repositories/` was deleted or moved away: a repository may no longer exist. */
  contentRemoved(): void;
}

/** The storage changes that concern repositories' existence, reported to `changes`; every other change ignored. */
export function repositoryChanges(changes: RepositoryChanges): StorageChanges {
  return {
    written(path) {
      const name = layout.repositoryOfContent(path);
      if (name !== undefined) changes.contentWritten(name);
    },
    removed(path) {
      if (layout.mayHoldRepositories(path)) changes.contentRemoved();
    },
  };
}

/** The changes of one driver instance, passed on to every listener; a listener that throws does not stop the others. */
export class ChangeFeed implements StorageChanges {
  readonly #listeners = new Set<StorageChanges>();

  /** Adds `listener`; returns a function that removes it. */
  subscribe(listener: StorageChanges): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  written(path: string): void {
    for (const l of this.#listeners) l.written(path);
  }

  removed(path: string): void {
    for (const l of this.#listeners) l.removed(path);
  }
}

const feeds = new WeakMap<StorageDriver, ChangeFeed>();

/** The driver under every decorator of `driver` that exposes the driver it wraps as `inner` (`driver` itself when none). */
export function innermost(driver: StorageDriver): StorageDriver {
  let inner = driver;
  while ('inner' in inner && inner.inner) inner = inner.inner as StorageDriver;
  return inner;
}

/**
 * The change feed of the driver instance under `driver`: decorators that expose the driver they wrap
 * as `inner` (a {@link WatchedDriver}, the metrics' MeteredDriver) share the feed of the one they wrap,
 * so that a change made through any of them reaches every listener of the process.
 */
export function feedOf(driver: StorageDriver): ChangeFeed {
  const inner = innermost(driver);
  let feed = feeds.get(inner);
  if (feed === undefined) {
    feed = new ChangeFeed();
    feeds.set(inner, feed);
  }
  return feed;
}

/** `driver`, reporting its writes and deletes to its {@link feedOf feed} (a watched driver is returned as it is). */
export function watched(driver: StorageDriver): StorageDriver {
  return driver instanceof WatchedDriver ? driver : new WatchedDriver(driver, feedOf(driver));
}

/** `inner`, reporting the changes of its writes, deletes and moves to `changes`. */
export class WatchedDriver extends DriverDecorator {
  constructor(
    inner: StorageDriver,
    private readonly changes: StorageChanges,
  ) {
    super(inner);
    const removeEmptyFolders = inner.removeEmptyFolders?.bind(inner);
    if (removeEmptyFolders) {
      // an empty folder holds no object: its removal changes only whether a repository exists (a
      // repository is a folder holding `_manifests` or `_layers`), so only those under repositories/ are reported
      this.removeEmptyFolders = async (folders) => {
        const removed = await removeEmptyFolders(folders);
        for (const folder of removed) if (folder.startsWith(`${layout.REPOSITORIES}/`)) this.removed(folder);
        return removed;
      };
    }
  }

  override async putContent(path: string, content: Buffer | string): Promise<void> {
    await this.inner.putContent(path, content);
    this.written(path);
  }

  override async append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    const appended = await this.inner.append(path, source, options);
    this.written(path);
    return appended;
  }

  override async commitAppended(path: string, dest: string, state: AppendedState, options?: CommitOptions): Promise<void> {
    try {
      await this.inner.commitAppended(path, dest, state, options);
      this.written(dest);
    } finally {
      this.removed(path);
    }
  }

  /** A move under `repositories/` counts as a removal at both ends: it may take a repository away, or replace one's folder. */
  override async move(source: string, dest: string): Promise<void> {
    try {
      await this.inner.move(source, dest);
    } finally {
      this.removed(source);
      this.removed(dest);
    }
  }

  override async delete(path: string, options?: DeleteOptions): Promise<void> {
    try {
      await this.inner.delete(path, options);
    } finally {
      this.removed(path);
    }
  }

  private written(path: string): void {
    this.changes.written(path);
  }

  private removed(path: string): void {
    this.changes.removed(path);
  }
}
