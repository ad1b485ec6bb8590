/**
 * The notification queue of this process: for each endpoint, the events queued here and not yet
 * stored, in runs ("segments", segments.ts) whose batch name (`<ms>-<writer>-<sequence>`, see batches.ts) is
 * taken when the run opens, so a run keeps its place in the endpoint's order whether it is delivered
 * from memory or written to the storage first. The delivery (delivery.ts) reads one ordered list: the
 * stored batches (of any process) merged with this process's runs, by name.
 *
 * What is stored, and when (the guarantee, also in docs/notifications.md):
 * - a push's, mount's or delete's event is stored before the request is answered (a group commit:
 *   the events queued while a write is under way go into the next one, in one write per endpoint);
 * - a pull's event is kept in memory while the endpoint's delivery keeps up: this process holds the
 *   endpoint's lease, its last attempt was acknowledged, and fewer than {@link MEMORY_EVENTS} events of
 *   the endpoint wait in memory. Otherwise (receiver down, a retry, a backlog, another replica
 *   delivering) it is stored within {@link LINGER_MS}, with the pulls of that time in one write, and
 *   the events already in memory are stored at once, under their own names (their place in the order);
 * - {@link flushed} (a graceful stop, SIGTERM or SIGINT) stores every event still in memory.
 *
 * So a graceful stop or a receiver outage loses nothing, and events arrive in the order they were
 * queued (per endpoint, so per repository); a crash (kill -9, power loss) while the receiver is up
 * may lose the pull events not yet delivered: those of the last delivery cycle (delivery.ts's
 * LINGER_MS plus one POST, which the endpoint's `timeout` bounds), never more than
 * {@link MEMORY_EVENTS}. CNCF Distribution keeps every event in memory only.
 */
import { randomBytes } from 'node:crypto';
import type { StorageDriver } from '../../storage/driver.js';
import { batchPrefix, StoredBatches, type StoredBatch } from './batches.js';
import { eventText, PendingEvent, queuedText, type QueuedEvent } from './event-text.js';
import type { RegistryEvent } from './events.js';
import { texts, waiter, type Segment, type Tail } from './segments.js';

/** How long pull events wait for others before they are written, when they are written (ms). */
export const LINGER_MS = 100;
/** The most events of one endpoint kept in memory; beyond, they are written. */
export const MEMORY_EVENTS = 32_768;
/**
 * How long {@link NotificationQueue.pending} trusts a listing of an endpoint's stored batches that
 * found none, while this process wrote none since (ms): the batches of other processes are looked
 * for this often, not at every delivery (a listing per POST cost as much as the POST's set-up).
 */
export const STORED_POLL_MS = 1_000;

/** An entry of an endpoint's queue as the delivery sees it: a stored batch, or one of this process's runs. */
export interface BatchRef extends StoredBatch {
  segment?: Segment;
}

const RESOLVED = Promise.resolve();

/** The queues of every endpoint, over one storage. */
export class NotificationQueue {
  private readonly writer = randomBytes(4).toString('hex');
  private sequence = 0;
  private readonly tails = new Map<string, Tail>();
  private readonly stored: StoredBatches;
  /** the write under way (never rejects) */
  private inflight: Promise<void> | undefined;
  /** the timer of the next lingering write */
  private timer: NodeJS.Timeout | undefined;
  /** by endpoint: when a listing found no stored batch (ms since the epoch), while this process wrote none since */
  private readonly listedEmpty = new Map<string, number>();
  /** writes started by this process so far (a listing that overlapped one is not trusted) */
  private writes = 0;
  /** called after each write with the endpoints it wrote to */
  onWritten: (endpoints: string[]) => void = () => undefined;
  /** called when a write failed, with the number of events it held (its durable callers also get the error) */
  onWriteFailed: (err: unknown, events: number) => void = () => undefined;
  /** called when an event is queued in memory for an endpoint that had none waiting there */
  onQueued: (endpoint: string) => void = () => undefined;

  constructor(storage: StorageDriver) {
    this.stored = new StoredBatches(storage);
  }

  /**
   * Queues `event` (or its JSON text, see eventText, or its parts, see PendingEvent) for `endpoints`, in the order of the calls.
   * @param durable store it (and what was queued before it) before the promise resolves; else see the module's rules
   * @returns for a durable event, a promise that resolves once it is stored (rejects with the storage's error)
   */
  enqueue(event: RegistryEvent | string | PendingEvent, endpoints: readonly string[], durable = true): Promise<void> {
    if (endpoints.length === 0) return RESOLVED;
    const line = typeof event === 'string' || event instanceof PendingEvent ? event : eventText(event);
    let waits: Promise<void>[] | undefined;
    let schedule = false;
    for (const endpoint of endpoints) {
      const tail = this.tail(endpoint);
      let s = tail.segments.at(-1);
      if (s === undefined || !s.open) {
        s = this.open(endpoint, tail);
        if (tail.live && !durable) this.onQueued(endpoint);
      }
      s.lines.push(line);
      if (s.due === Infinity) tail.memory += 1;
      if (durable) {
        this.makeDue(tail, s, 0);
        (waits ??= []).push((s.waiter ??= waiter()).done);
        schedule = true;
      } else if (!tail.live) {
        if (s.due === Infinity) schedule = true;
        this.makeDue(tail, s, Date.now() + LINGER_MS);
      } else if (tail.memory > MEMORY_EVENTS) {
        for (const each of tail.segments) if (each.write === undefined) this.makeDue(tail, each, 0);
        schedule = true;
      }
    }
    if (schedule) this.schedule();
    if (!waits) return RESOLVED;
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  /**
   * Whether the endpoint's delivery keeps up (see the module's rules); set false, the endpoint's
   * events in memory are written at once.
   */
  setLive(endpoint: string, live: boolean): void {
    const tail = this.tail(endpoint);
    if (tail.live === live) return;
    tail.live = live;
    if (live) return;
    for (const s of tail.segments) if (s.write === undefined) this.makeDue(tail, s, 0);
    this.schedule();
  }

  /** Writes every event still in memory (a stop), and resolves once every event queued so far is written (or failed to be). */
  async flushed(): Promise<void> {
    for (const tail of this.tails.values()) {
      tail.live = false;
      for (const s of tail.segments) if (s.write === undefined) this.makeDue(tail, s, 0);
    }
    this.schedule();
    while (this.inflight) await this.inflight;
  }

  /**
   * The endpoint's queue in order: the stored batches merged with this process's runs not yet
   * stored (sealed: later events go into a new run, after them).
   * @param seal false: only look (the admin API's pending count)
   */
  async pending(endpoint: string, seal = true): Promise<BatchRef[]> {
    const own = (this.tails.get(endpoint)?.segments ?? []).filter((s) => s.lines.length > 0);
    if (seal) for (const s of own) s.open = false;
    const prefixes = new Set(own.map((s) => s.prefix));
    const items: BatchRef[] = (await this.listStored(endpoint, seal)).filter((b) => !prefixes.has(batchPrefix(b.name)));
    for (const s of own) items.push({ name: `${s.prefix}-${s.lines.length}`, count: s.lines.length, segment: s });
    return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The events of an entry of {@link pending}, in order (JSON texts, or this process's pending events); [] when another process already removed it. */
  read(endpoint: string, item: BatchRef): Promise<readonly QueuedEvent[]> {
    return item.segment ? Promise.resolve(item.segment.lines) : this.stored.read(endpoint, item.name);
  }

  /** Replaces an entry of {@link pending} by its events still to deliver (same place in the order; `item` renamed); removes it when none are left. */
  async replace(endpoint: string, item: BatchRef, remaining: readonly QueuedEvent[]): Promise<void> {
    const s = item.segment;
    if (s?.write) await s.write;
    if (s && !s.stored) {
      const tail = this.tail(endpoint);
      if (s.due === Infinity) tail.memory -= s.lines.length - remaining.length;
      s.lines = [...remaining];
      if (remaining.length === 0) this.remove(tail, s);
    } else {
      const name = s ? `${s.prefix}-${s.lines.length}` : item.name;
      if (s) s.lines = [...remaining];
      await this.stored.replace(endpoint, name, remaining.map(queuedText));
    }
    item.name = `${batchPrefix(item.name)}-${remaining.length}`;
    item.count = remaining.length;
  }

  /** The endpoint's stored batches; none without listing them while {@link STORED_POLL_MS} says so (`trust`: the delivery's reads). */
  private async listStored(endpoint: string, trust: boolean): Promise<StoredBatch[]> {
    const emptyAt = this.listedEmpty.get(endpoint);
    if (trust && emptyAt !== undefined && Date.now() - emptyAt < STORED_POLL_MS) return [];
    const listedAt = Date.now();
    const writes = this.writes;
    const stored = await this.stored.list(endpoint);
    if (stored.length === 0 && writes === this.writes) this.listedEmpty.set(endpoint, listedAt);
    else this.listedEmpty.delete(endpoint);
    return stored;
  }

  private tail(endpoint: string): Tail {
    let tail = this.tails.get(endpoint);
    if (!tail) this.tails.set(endpoint, (tail = { segments: [], memory: 0, live: false }));
    return tail;
  }

  private open(endpoint: string, tail: Tail): Segment {
    const prefix = `${String(Date.now()).padStart(15, '0')}-${this.writer}-${String(this.sequence++).padStart(10, '0')}`;
    const s: Segment = { endpoint, prefix, lines: [], open: true, due: Infinity, write: undefined, stored: false, waiter: undefined };
    tail.segments.push(s);
    return s;
  }

  /** Sets `s` to be written by `at` (ms since the epoch; 0: at once), no longer counted in memory. */
  private makeDue(tail: Tail, s: Segment, at: number): void {
    if (s.due === Infinity) tail.memory -= s.lines.length;
    if (at < s.due) s.due = at;
  }

  private remove(tail: Tail, s: Segment): void {
    const i = tail.segments.indexOf(s);
    if (i >= 0) tail.segments.splice(i, 1);
  }

  /** Starts the write of every segment that is due (one write at a time: what becomes due meanwhile goes into the next), else arms the timer of the next. */
  private schedule(): void {
    if (this.inflight) return;
    const now = Date.now();
    let next = Infinity;
    const due: Segment[] = [];
    for (const tail of this.tails.values()) {
      for (const s of tail.segments) {
        if (s.write !== undefined || s.lines.length === 0) continue;
        if (s.due <= now) due.push(s);
        else next = Math.min(next, s.due);
      }
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    if (due.length === 0) {
      if (next < Infinity) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, next - now).unref();
      }
      return;
    }
    const endpoints = [...new Set(due.map((s) => s.endpoint))];
    this.inflight = Promise.all(due.map((s) => (s.write = this.store(s)))).then(() => {
      this.inflight = undefined;
      this.onWritten(endpoints);
      this.schedule();
    });
  }

  /** Writes a segment and takes it off its tail (stored, or lost with its write: the delivery may still send its events from memory). */
  private async store(s: Segment): Promise<void> {
    s.open = false;
    this.writes += 1;
    this.listedEmpty.delete(s.endpoint);
    try {
      await this.stored.write(s.endpoint, s.prefix, texts(s));
      s.stored = true;
      s.waiter?.resolve();
    } catch (err) {
      s.waiter?.reject(err);
      this.onWriteFailed(err, s.lines.length);
    }
    this.remove(this.tail(s.endpoint), s);
  }
}
