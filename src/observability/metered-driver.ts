/**
 * A StorageDriver decorator that times every storage action into
 * `registry_storage_action_seconds{driver,action}` (as CNCF Distribution's storage driver base does,
 * with its action names where the action is the same: Stat, GetContent, PutContent, Reader, List,
 * Move, Delete, RedirectURL) and counts the bytes appended to upload sessions into
 * `wharf_upload_bytes_total`. A reader is timed until its stream is open, not while it flows.
 */
import type { Readable } from 'node:stream';
import type { AppendedState, AppendOptions, CommitOptions, FileInfo, ReadOptions, ReadRange, StorageDriver } from '../storage/driver.js';
import { DriverDecorator } from '../storage/driver-decorator.js';
import type { Metrics } from './metrics.js';
import type { HistogramSeries } from './series.js';

/** `inner`, timed. */
export class MeteredDriver extends DriverDecorator {
  /** the series of each action, resolved once */
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    inner: StorageDriver,
    private readonly metrics: Metrics,
  ) {
    super(inner);
    const redirect = this.redirectURL;
    if (redirect) this.redirectURL = (path) => this.timed('RedirectURL', () => redirect(path));
  }

  private async timed<T>(action: string, work: () => Promise<T>): Promise<T> {
    let series = this.series.get(action);
    if (!series) {
      series = this.metrics.storageAction.series(this.name, action);
      this.series.set(action, series);
    }
    const start = performance.now();
    try {
      return await work();
    } finally {
      series.observe((performance.now() - start) / 1000);
    }
  }

  override stat(path: string): Promise<FileInfo> {
    return this.timed('Stat', () => this.inner.stat(path));
  }

  override getContent(path: string, options?: ReadOptions): Promise<Buffer> {
    return this.timed('GetContent', () => this.inner.getContent(path, options));
  }

  override putContent(path: string, content: Buffer | string): Promise<void> {
    return this.timed('PutContent', () => this.inner.putContent(path, content));
  }

  override reader(path: string, range?: ReadRange): Promise<Readable> {
    return this.timed('Reader', () => this.inner.reader(path, range));
  }

  override appendedState(path: string): Promise<AppendedState> {
    return this.timed('AppendedState', () => this.inner.appendedState(path));
  }

  override async append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    const appended = await this.timed('Append', () => this.inner.append(path, source, options));
    this.metrics.uploadBytes.inc(appended);
    return appended;
  }

  override appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return this.timed('AppendedReader', () => this.inner.appendedReader(path, state));
  }

  override commitAppended(path: string, dest: string, state: AppendedState, options?: CommitOptions): Promise<void> {
    return this.timed('CommitAppended', () => this.inner.commitAppended(path, dest, state, options));
  }

  override move(source: string, dest: string): Promise<void> {
    return this.timed('Move', () => this.inner.move(source, dest));
  }

  override list(path: string, options?: ReadOptions): Promise<string[]> {
    return this.timed('List', () => this.inner.list(path, options));
  }

  override delete(path: string): Promise<void> {
    return this.timed('Delete', () => this.inner.delete(path));
  }
}
