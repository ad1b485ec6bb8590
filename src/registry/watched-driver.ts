/**
 * A StorageDriver decorator that tells the catalog cache about this process's own writes and deletes
 * under `repositories/`, so the cache is exact within the process (see catalog.ts): a write of a
 * repository's content (a blob link, a manifest revision, a tag) reports the repository as present
 * once it succeeded; a delete or a move of anything under `repositories/` reports that a repository
 * may be gone, whether it succeeded or not (a failed recursive delete may have removed part of it). Every
 * read passes through untouched, streams included (the filesystem's direct send keeps working).
 */
import type { Readable } from 'node:stream';
import type { RepositoryName } from '../oci/reference.js';
import type { AppendedState, AppendOptions, CommitOptions, FileInfo, ReadRange, StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';

/** What {@link WatchedDriver} reports to. */
export interface RepositoryChanges {
  /** An object of repository `name`'s content (blob link, manifest revision, tag) was written: the repository exists. */
  contentWritten(name: RepositoryName): void;
  /** Something under `repositories/` was deleted or moved away: a repository may no longer exist. */
  contentRemoved(): void;
}

/** `inner`, reporting the repository changes of its writes, deletes and moves to `changes`. */
export class WatchedDriver implements StorageDriver {
  readonly name: string;
  readonly purgeTemporaries?: StorageDriver['purgeTemporaries'];
  readonly redirectURL?: StorageDriver['redirectURL'];
  readonly check?: StorageDriver['check'];

  constructor(
    readonly inner: StorageDriver,
    private readonly changes: RepositoryChanges,
  ) {
    this.name = inner.name;
    if (inner.purgeTemporaries) this.purgeTemporaries = inner.purgeTemporaries.bind(inner);
    if (inner.redirectURL) this.redirectURL = inner.redirectURL.bind(inner);
    if (inner.check) this.check = inner.check.bind(inner);
  }

  stat(path: string): Promise<FileInfo> {
    return this.inner.stat(path);
  }

  getContent(path: string): Promise<Buffer> {
    return this.inner.getContent(path);
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    await this.inner.putContent(path, content);
    this.written(path);
  }

  reader(path: string, range?: ReadRange): Promise<Readable> {
    return this.inner.reader(path, range);
  }

  appendedState(path: string): Promise<AppendedState> {
    return this.inner.appendedState(path);
  }

  async append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    const appended = await this.inner.append(path, source, options);
    this.written(path);
    return appended;
  }

  appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return this.inner.appendedReader(path, state);
  }

  async commitAppended(path: string, dest: string, state: AppendedState, options?: CommitOptions): Promise<void> {
    try {
      await this.inner.commitAppended(path, dest, state, options);
      this.written(dest);
    } finally {
      this.removed(path);
    }
  }

  /** A move under `repositories/` counts as a removal at both ends: it may take a repository away, or replace one's folder. */
  async move(source: string, dest: string): Promise<void> {
    try {
      await this.inner.move(source, dest);
    } finally {
      this.removed(source);
      this.removed(dest);
    }
  }

  list(path: string): Promise<string[]> {
    return this.inner.list(path);
  }

  async delete(path: string): Promise<void> {
    try {
      await this.inner.delete(path);
    } finally {
      this.removed(path);
    }
  }

  private written(path: string): void {
    const name = layout.repositoryOfContent(path);
    if (name !== undefined) this.changes.contentWritten(name);
  }

  private removed(path: string): void {
    if (layout.mayHoldRepositories(path)) this.changes.contentRemoved();
  }
}
