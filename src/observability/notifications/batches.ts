/**
 * The stored side of the notification queue: one folder per endpoint in the storage
 * (`/_notifications/<endpoint>/queue/`, see layout.ts), holding batches of events as JSON lines,
 * named `<ms since the epoch>-<writer id>-<sequence>-<event count>` so that listing them gives them
 * in the order their events were queued and their number without reading them. Any process sharing
 * the storage can deliver them, and they outlive the process that wrote them.
 *
 * Events are kept as the JSON text they are stored as: the delivery sends them as they are (see
 * envelopes.ts), without parsing them again. The batches this process wrote are also kept in memory
 * (up to {@link CACHE_CHARS}) until read, so that its own delivery does not read them back from the
 * storage: a batch's content never changes under its name.
 */
import { type StorageDriver } from '../../storage/driver.js';
import { isNotFound } from '../../storage/driver-errors.js';
import * as layout from '../../storage/layout.js';

/** The most characters of written batches kept in memory for the delivery (beyond: read from the storage). */
const CACHE_CHARS = 8 * 1024 * 1024;

/** A stored batch as listed: its object name and how many events it holds. */
export interface StoredBatch {
  name: string;
  count: number;
}

/** The name prefix of a batch (`<ms>-<writer>-<sequence>`): its place in the order, the same whatever its count. */
export function batchPrefix(name: string): string {
  return name.slice(0, name.lastIndexOf('-'));
}

/** The stored batches of every endpoint, over one storage. */
export class StoredBatches {
  /** batches written by this process and not read yet, by `<endpoint>\0<batch>`: their lines */
  private readonly written = new Map<string, readonly string[]>();
  private writtenChars = 0;

  constructor(private readonly storage: StorageDriver) {}

  /** Stores `lines` as the batch `<prefix>-<count>` of `endpoint` (kept in memory for {@link read} while there is room). */
  async write(endpoint: string, prefix: string, lines: readonly string[]): Promise<void> {
    const text = `${lines.join('\n')}\n`;
    const batch = `${prefix}-${lines.length}`;
    await this.storage.putContent(layout.notificationBatch(endpoint, batch), text);
    if (this.writtenChars + text.length > CACHE_CHARS) return;
    this.written.set(`${endpoint}\0${batch}`, lines);
    this.writtenChars += text.length;
  }

  /** The batches stored for `endpoint`, oldest first. */
  async list(endpoint: string): Promise<StoredBatch[]> {
    const names = (await this.storage.list(layout.notificationQueue(endpoint))).filter(layout.isNotificationBatch);
    return names.sort().map((name) => ({ name, count: Number(name.slice(name.lastIndexOf('-') + 1)) || 0 }));
  }

  /**
   * The events of a batch, in order, as JSON text (one event each); [] when another process already
   * removed it (one this process wrote comes from memory, and is then sent again: at least once).
   */
  async read(endpoint: string, batch: string): Promise<readonly string[]> {
    const cached = this.forget(endpoint, batch);
    if (cached) return cached;
    let text: string;
    try {
      text = (await this.storage.getContent(layout.notificationBatch(endpoint, batch))).toString('utf8');
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return text.split('\n').filter((l) => l !== '');
  }

  /** Drops the lines of a batch kept in memory; @returns them */
  private forget(endpoint: string, batch: string): readonly string[] | undefined {
    const key = `${endpoint}\0${batch}`;
    const cached = this.written.get(key);
    if (!cached) return undefined;
    this.written.delete(key);
    this.writtenChars -= cached.reduce((n, l) => n + l.length + 1, 0);
    return cached;
  }

  /** Replaces a batch by the events of it still to deliver (same place in the order); removes it when none are left. @returns its new name */
  async replace(endpoint: string, batch: string, remaining: readonly string[]): Promise<string | undefined> {
    const prefix = batchPrefix(batch);
    const next = remaining.length > 0 ? `${prefix}-${remaining.length}` : undefined;
    this.forget(endpoint, batch);
    if (next && next !== batch) await this.storage.putContent(layout.notificationBatch(endpoint, next), `${remaining.join('\n')}\n`);
    if (next !== batch) await this.storage.delete(layout.notificationBatch(endpoint, batch));
    return next;
  }
}
