/**
 * The durable notification queue: one folder per endpoint in the storage
 * (`/_notifications/<endpoint>/queue/`, see layout.ts), holding batches of events as JSON lines,
 * named `<ms since the epoch>-<writer id>-<sequence>-<event count>` so that listing them gives them
 * in the order they were written and their number without reading them. Unlike CNCF Distribution's
 * in-memory queue, nothing is lost when a process stops, and any process sharing the storage can
 * deliver them.
 *
 * Writes are group commits, in the order the events were queued: events queued while a write is
 * under way go into the next one. An event queued `durable` (a push, mount or delete: the request is
 * answered only once its event is stored) starts the write at once; events queued without (pulls,
 * which CNCF Distribution keeps in memory only) wait up to {@link LINGER_MS} for others to join them,
 * so that a stream of manifest GETs costs one storage write, listing and delete per
 * {@link LINGER_MS} instead of one per few requests (which doubled the server's CPU per GET). A
 * crash, not a stop ({@link NotificationQueue.flushed}), can lose the pulls of that last window.
 *
 * Events are kept as the JSON text they are stored as: the delivery sends them as they are (see
 * envelopes.ts), without parsing them again. The batches this process wrote are also kept in memory
 * (up to {@link CACHE_CHARS}) until read, so that its own delivery does not read them back from the
 * storage: a batch's content never changes under its name.
 */
import { randomBytes } from 'node:crypto';
import { isNotFound, type StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import { eventText } from './event-text.js';
import type { RegistryEvent } from './events.js';

/** The most characters of written batches kept in memory for the delivery (beyond: read from the storage). */
const CACHE_CHARS = 8 * 1024 * 1024;
/** How long events queued without `durable` wait for others before they are written (ms). */
export const LINGER_MS = 100;
/** Events collected that start a write without waiting for the linger. */
const MAX_COLLECTED = 4096;

/** Events to write, each with the endpoints it is for. */
interface PendingWrite {
  lines: Map<string, string[]>;
  events: number;
  /** ms since the epoch when its first event was queued */
  since: number;
  /** a durable event waits for it: write it as soon as the storage is free */
  urgent: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A batch as listed: its object name and how many events it holds. */
export interface BatchRef {
  name: string;
  count: number;
}

/** The queues of every endpoint, over one storage. */
export class NotificationQueue {
  private readonly writer = randomBytes(4).toString('hex');
  private sequence = 0;
  private collecting: PendingWrite | undefined;
  /** the write under way (never rejects) */
  private inflight: Promise<void> | undefined;
  /** the timer that writes lingering events */
  private lingering: NodeJS.Timeout | undefined;
  /** batches written by this process and not read yet, by `<endpoint>\0<batch>`: their lines */
  private readonly written = new Map<string, string[]>();
  private writtenChars = 0;
  /** called after each successful write with the endpoints it wrote to */
  onWritten: (endpoints: string[]) => void = () => undefined;
  /** called when a write failed, with the number of events it held (their durable callers also get the error) */
  onWriteFailed: (err: unknown, events: number) => void = () => undefined;

  constructor(private readonly storage: StorageDriver) {}

  /**
   * Queues `event` (or its JSON text, see eventText) for `endpoints`, in the order of the calls.
   * @param durable write it at once (else within {@link LINGER_MS}, with the events queued meanwhile)
   * @returns a promise that resolves once the event is in the storage (rejects with the storage's error)
   */
  enqueue(event: RegistryEvent | string, endpoints: readonly string[], durable = true): Promise<void> {
    if (endpoints.length === 0) return Promise.resolve();
    const pending = (this.collecting ??= newPendingWrite());
    const line = typeof event === 'string' ? event : eventText(event);
    for (const endpoint of endpoints) {
      const lines = pending.lines.get(endpoint);
      if (lines) lines.push(line);
      else pending.lines.set(endpoint, [line]);
    }
    pending.events += 1;
    if (durable || pending.events >= MAX_COLLECTED) pending.urgent = true;
    if (!this.inflight) this.writeNext();
    return pending.done;
  }

  /** Writes what is collected now, and resolves once every event queued so far is written (or failed to be). */
  async flushed(): Promise<void> {
    if (this.collecting) this.collecting.urgent = true;
    if (!this.inflight) this.writeNext();
    while (this.inflight) await this.inflight;
  }

  /** Starts the next write when one is due (an urgent one, or a linger that ran out), else arms the linger's timer. */
  private writeNext(): void {
    const pending = this.collecting;
    if (!pending) return;
    const wait = pending.urgent ? 0 : pending.since + LINGER_MS - Date.now();
    if (wait > 0) {
      this.lingering ??= setTimeout(() => {
        this.lingering = undefined;
        if (!this.inflight) this.writeNext();
      }, wait).unref();
      return;
    }
    clearTimeout(this.lingering);
    this.lingering = undefined;
    this.collecting = undefined;
    const name = `${String(Date.now()).padStart(15, '0')}-${this.writer}-${String(this.sequence++).padStart(10, '0')}`;
    const writes = [...pending.lines].map(async ([endpoint, lines]) => {
      const text = `${lines.join('\n')}\n`;
      const batch = `${name}-${lines.length}`;
      await this.storage.putContent(layout.notificationBatch(endpoint, batch), text);
      if (this.writtenChars + text.length > CACHE_CHARS) return;
      this.written.set(`${endpoint}\0${batch}`, lines);
      this.writtenChars += text.length;
    });
    this.inflight = Promise.all(writes)
      .then(
        () => {
          pending.resolve();
          this.onWritten([...pending.lines.keys()]);
        },
        (err: unknown) => {
          pending.reject(err);
          this.onWriteFailed(err, pending.events);
        },
      )
      .finally(() => {
        this.inflight = undefined;
        this.writeNext();
      });
  }

  /** The batches waiting for `endpoint`, oldest first. */
  async batches(endpoint: string): Promise<BatchRef[]> {
    const names = (await this.storage.list(layout.notificationQueue(endpoint))).filter(layout.isNotificationBatch);
    return names.sort().map((name) => ({ name, count: Number(name.slice(name.lastIndexOf('-') + 1)) || 0 }));
  }

  /**
   * The events of a batch, in order, as JSON text (one event each); [] when another process already
   * removed it (one this process wrote comes from memory, and is then sent again: at least once).
   */
  async read(endpoint: string, batch: string): Promise<string[]> {
    const key = `${endpoint}\0${batch}`;
    const cached = this.written.get(key);
    if (cached) {
      this.written.delete(key);
      this.writtenChars -= cached.reduce((n, l) => n + l.length + 1, 0);
      return cached;
    }
    let text: string;
    try {
      text = (await this.storage.getContent(layout.notificationBatch(endpoint, batch))).toString('utf8');
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return text.split('\n').filter((l) => l !== '');
  }

  /** Replaces a batch by the events of it still to deliver (same place in the order); removes it when none are left. */
  async replace(endpoint: string, batch: string, remaining: readonly string[]): Promise<string | undefined> {
    const prefix = batch.slice(0, batch.lastIndexOf('-'));
    const next = remaining.length > 0 ? `${prefix}-${remaining.length}` : undefined;
    if (next && next !== batch) await this.storage.putContent(layout.notificationBatch(endpoint, next), `${remaining.join('\n')}\n`);
    if (next !== batch) await this.storage.delete(layout.notificationBatch(endpoint, batch));
    return next;
  }
}

function newPendingWrite(): PendingWrite {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined); // a failed write is reported to the callers that await it, and to onWriteFailed
  return { lines: new Map(), events: 0, since: Date.now(), urgent: false, done, resolve, reject };
}
