/**
 * The admin index: what the admin API and the web page show of every repository (tags, manifests,
 * unique/shared/total bytes, last push) and of the storage (blob totals), answered from this
 * process's memory (state.ts, compact) instead of walking the registry per request.
 *
 * Shared through storage (docs/admin-api.md#the-index): a process starts from the snapshot
 * (snapshot.ts, snapshot-load.ts) and replays the journal of changes since (journal.ts); without a snapshot (the first
 * start, or one older than the journal's day) it walks the registry once (scan.ts) and writes one,
 * then a new one at most every `snapshotMs` when it changed. This process's own changes arrive at
 * once through the driver's change feed, and a request waits for them (read-your-writes); other
 * processes' through the journal, within `pollMs` plus the time to apply them (change-queue.ts). A walk every
 * `rebuildMs` corrects what changed behind every process's back.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { RepositoryName } from '../../oci/reference.js';
import { giveMemoryBack } from '../../gc/give-back.js';
import { CLOCK_SKEW_MS } from '../../gc/protocol.js';
import type { StorageDriver } from '../../storage/driver.js';
import { limiter } from '../limit.js';
import type { StorageChanges } from '../watched-driver.js';
import { applyBatch, group } from './apply.js';
import { ChangeQueue } from './change-queue.js';
import { eventOf, JournalReader, JournalWriter, RETENTION_MS } from './journal.js';
import { walkRegistry } from './scan.js';
import { SnapshotCadence } from './snapshot-cadence.js';
import { SnapshotLoad } from './snapshot-load.js';
import type { IndexState } from './state.js';
import { UploadTotals } from './upload-totals.js';

/** Options of {@link AdminIndex}. */
export interface AdminIndexOptions {
  /** ms between two reads of the journal (other processes' changes); default 2 s */
  pollMs?: number;
  /** ms between two walks of the whole registry; default a day */
  rebuildMs?: number;
  /** ms: the least time between two snapshots a process writes; default 10 minutes */
  snapshotMs?: number;
  /**
   * whether a walk takes configs' and layers' sizes from their manifests' descriptors (default true);
   * false stats every stored blob: for a pull-through cache, whose manifests are its upstream's and unchecked
   */
  describedSizes?: boolean;
  now?: () => number;
  logger?: Logger;
}

/** What `GET /admin/v1/index` answers. */
export interface IndexStatus {
  state: 'stopped' | 'building' | 'ready';
  /** where the index came from at start: a snapshot, or a walk */
  source: 'snapshot' | 'walk' | null;
  /** ISO 8601: when the index was last built (walked, or the snapshot's time) */
  builtAt: string | null;
  /** ISO 8601: when the journal was last read */
  syncedAt: string | null;
  pollMs: number;
  repositories: number;
  blobs: number;
}

const STORAGE_REQUESTS = 32;
/**
 * The longest the server waits for the snapshot's rows before it listens (ms): the rows of 100,000
 * repositories were read in 104-159 ms (docs/admin-api.md), so only a storage that hangs or fails
 * slowly reaches it.
 */
const ROWS_WAIT_MS = 5_000;

/** The admin index over one storage driver (see the module comment). */
export class AdminIndex implements StorageChanges {
  readonly journal: JournalWriter;
  /** the upload sessions' totals (upload-totals.ts) */
  readonly uploads: UploadTotals;
  readonly #driver: StorageDriver;
  readonly #read = limiter(STORAGE_REQUESTS);
  readonly #pollMs: number;
  readonly #rebuildMs: number;
  readonly #snapshotMs: number;
  /** whether a walk takes blob sizes from manifests' descriptors (see AdminIndexOptions.describedSizes) */
  readonly #describedSizes: boolean;
  readonly #snapshots: SnapshotCadence;
  readonly #now: () => number;
  #logger: Logger | undefined;
  #state: IndexState | undefined;
  /** the snapshot being read at the start (its rows answer early, see snapshot-load.ts) */
  #load: SnapshotLoad | undefined;
  #started: Promise<void> | undefined;
  #source: IndexStatus['source'] = null;
  #builtAt = 0;
  #syncedAt = 0;
  #reader: JournalReader | undefined;
  #timers: NodeJS.Timeout[] = [];
  readonly #changes = new ChangeQueue((batch) => this.#apply(batch));
  #rebuilding: Promise<void> | undefined;
  #stopped = false;
  /** bumped by every walk (with the repository's generation in the change queue, the tag rows' cache key) */
  #generation = 0;

  constructor(driver: StorageDriver, options: AdminIndexOptions = {}) {
    this.#driver = driver;
    this.#pollMs = options.pollMs ?? 2000;
    this.#rebuildMs = options.rebuildMs ?? 24 * 3_600_000;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#snapshotMs = options.snapshotMs ?? 10 * 60_000;
    this.#describedSizes = options.describedSizes ?? true;
    this.#snapshots = new SnapshotCadence(driver, this.#snapshotMs, this.#now, (err) => this.#log().warn({ err }, 'cannot write the admin index snapshot'));
    this.uploads = new UploadTotals(driver, undefined, this.#now);
    this.journal = new JournalWriter(driver, this.#now, (err) => this.#log().warn({ err }, 'cannot write the admin index journal'));
  }

  /** Starts the index (once): from the snapshot, else a walk; then reads the journal every poll. Resolves when it is ready. */
  start(): Promise<void> {
    this.#stopped = false;
    this.journal.enable();
    this.#started ??= this.#start().catch((err: unknown) => {
      this.#started = undefined; // the next request tries again
      throw err;
    });
    return this.#started;
  }

  /** The index, started if needed, with every change this process made applied. */
  async ready(): Promise<IndexState> {
    await this.start();
    await this.settled();
    return this.#state!;
  }

  /**
   * The index for what the snapshot's rows answer (the list of repositories, one repository's
   * figures, the storage totals): the index as {@link ready} gives it, or, while a start reads the
   * rest of the snapshot, the snapshot's rows alone when they are exact: the journal held no change
   * since the snapshot and this process made none.
   */
  async rows(): Promise<IndexState> {
    const started = this.start();
    if (!this.#state) {
      await Promise.race([started, this.#load?.rowsRead]);
      const rows = this.#load?.rows;
      if (rows && !this.#state && this.#changes.quiet) return rows;
    }
    return this.ready();
  }

  /**
   * Starts the index (as {@link start}) and resolves once {@link rows} answers without waiting for a
   * read of the storage: the snapshot's rows are read and checked (snapshot-load.ts), or the
   * snapshot's read ended (there was none, or it was read whole). It does not wait for a walk (no
   * snapshot) nor for the rest of the snapshot. The server awaits it before it listens, so the
   * first admin page after a restart costs what the page costs. Never rejects: a failed start is
   * reported by {@link start}'s callers.
   * @param maxWaitMs the longest wait (ms): a storage that does not answer must not keep the server
   *   from listening (its health endpoints report the storage), so past it this resolves anyway
   */
  async rowsLoaded(maxWaitMs = ROWS_WAIT_MS): Promise<void> {
    const started = this.start().catch(() => undefined);
    const load = this.#load; // set by the start until the snapshot's read ends
    if (!load) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)));
    try {
      await Promise.race([started, load.rowsRead, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once the events received so far are applied. */
  async settled(): Promise<void> {
    while (this.#changes.pending || this.#rebuilding) {
      await this.#rebuilding;
      await this.#changes.drain();
    }
    await this.#changes.idle();
  }

  /**
   * Stops reading the journal, walking and writing snapshots (the work under way ends first) and
   * records no more changes; writes what this process's journal holds. The index keeps answering as it is.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    const started = this.#started;
    this.#started = undefined; // a later start loads the storage again, as a new process would
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.journal.disable();
    await started?.catch(() => undefined);
    await this.#rebuilding?.catch(() => undefined);
    await this.#snapshots.settled();
    await this.journal.flush();
  }

  /** The repository's change count (moves whenever an event concerns it, or the index is rebuilt). */
  generationOf(name: RepositoryName): string {
    return `${this.#generation}.${this.#changes.generation(name)}`;
  }

  /** What the index is and how fresh. */
  status(): IndexStatus {
    return {
      state: this.#state ? 'ready' : this.#started ? 'building' : 'stopped',
      source: this.#source,
      builtAt: this.#builtAt ? new Date(this.#builtAt).toISOString() : null,
      syncedAt: this.#syncedAt ? new Date(this.#syncedAt).toISOString() : null,
      pollMs: this.#pollMs,
      repositories: this.#state?.repositoryCount ?? 0,
      blobs: this.#state?.stored.count ?? 0,
    };
  }

  written(path: string): void {
    this.uploads.written(path);
    this.#receive(eventOf(path));
  }

  removed(path: string): void {
    this.uploads.removed(path);
    this.#receive(eventOf(path));
  }

  async #start(): Promise<void> {
    const startedAt = this.#now();
    this.#changes.keep(); // this process's changes while the snapshot loads (the journal replay skips them)
    this.#load = new SnapshotLoad(this.#driver);
    const snapshot = await this.#load.read().catch((err: unknown) => {
      this.#log().warn({ err }, 'cannot read the admin index snapshot; walking the registry instead');
      return undefined;
    });
    this.#load = undefined;
    if (snapshot && snapshot.header.asOf > startedAt - RETENTION_MS + 3_600_000) {
      this.#state = snapshot.state;
      this.#source = 'snapshot';
      this.#builtAt = snapshot.header.asOf;
      this.#reader = new JournalReader(this.#driver, snapshot.header.asOf - CLOCK_SKEW_MS, this.journal.id, this.#now);
      this.#snapshots.loaded(snapshot.state.generation);
      this.#changes.requeue();
      await this.#poll().catch((err: unknown) => this.#log().warn({ err }, 'cannot read the admin index journal; a later poll retries'));
    } else {
      this.#reader = new JournalReader(this.#driver, startedAt - CLOCK_SKEW_MS, this.journal.id, this.#now);
      this.#source = 'walk';
      await this.#rebuild();
    }
    if (this.#stopped) return;
    const every = (ms: number, work: () => Promise<void>) => {
      const timer = setInterval(() => void work().catch((err: unknown) => this.#log().warn({ err }, 'admin index maintenance failed')), ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.#pollMs, () => this.#poll());
    every(this.#rebuildMs, () => this.#rebuild());
    every(Math.max(this.#pollMs, Math.min(this.#snapshotMs, 60_000)), () => this.#maybeSnapshot());
  }

  #receive(event: string | undefined): void {
    if (event !== undefined) this.#changes.hear(event, this.#started !== undefined); // a start reads the storage as it is then
  }

  /** Applies one batch of change events: a walk when one asks for everything. */
  async #apply(batch: string[]): Promise<void> {
    const grouped = group(batch);
    if (grouped.everything) {
      void this.#rebuild();
      return;
    }
    if (!this.#state) return; // the build under way applies them again
    try {
      await applyBatch(this.#driver, this.#read, this.#state, grouped);
    } catch (err) {
      this.#log().warn({ err }, 'cannot apply changes to the admin index; a later walk corrects it');
    }
  }

  async #poll(): Promise<void> {
    if (!this.#reader || this.#stopped) return;
    const startedAt = this.#now();
    const events = await this.#reader.poll();
    for (const e of events) this.#receive(e);
    await this.#changes.drain();
    this.#syncedAt = startedAt;
  }

  /** Walks the registry into a new state, then applies what changed meanwhile; one walk at a time. */
  #rebuild(): Promise<void> {
    if (this.#stopped && this.#state) return Promise.resolve();
    this.#rebuilding ??= (async () => {
      const startedAt = this.#now();
      this.#changes.keep();
      try {
        const state = await walkRegistry(this.#driver, this.#read, this.#describedSizes);
        this.#state = state;
        this.#builtAt = startedAt;
        this.#generation += 1;
        this.#changes.requeue();
      } finally {
        this.#changes.forget();
        this.#rebuilding = undefined;
      }
      await this.#changes.drain();
      if (!this.#stopped) await this.#snapshots.write(this.#state!, startedAt - CLOCK_SKEW_MS);
      // a walk allocates and drops a registry's worth of objects: an idle server would keep that heap
      // grown (at 100,000 tags, 80 MiB of garbage, RSS 303 MiB against 152 MiB after one full collection)
      giveMemoryBack();
    })();
    return this.#rebuilding;
  }

  /** Writes a snapshot when the index changed and the stored one is older than `snapshotMs` (not once stopped). */
  async #maybeSnapshot(): Promise<void> {
    if (this.#state && this.#syncedAt && !this.#stopped) await this.#snapshots.maybe(this.#state, this.#syncedAt - CLOCK_SKEW_MS);
  }

  #log(): Logger {
    return (this.#logger ??= pino());
  }
}
