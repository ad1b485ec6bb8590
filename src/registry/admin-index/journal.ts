/**
 * The admin index's journal: how processes that share one storage (replicas on one bucket, `wharf gc`)
 * tell each other what they changed, so each one's index follows within seconds without walking the
 * registry. A process batches the index-relevant paths it wrote or deleted into change events and
 * writes them, at most every {@link FLUSH_MS}, as one small object under `_index/journal/<minute>/`
 * named `<ms>-<writer>-<sequence>`; every process lists the last few minutes' folders at its poll
 * interval and applies the entries it has not seen. Entries are kept {@link RETENTION_MS} (a day), so
 * a process that starts from a snapshot up to a day old replays what happened since.
 *
 * Events (one per line, tab-separated; names, tags and digests contain no tab):
 * `t <repository> <tag>` a tag written or deleted; `m <repository> <digest>` a manifest revision;
 * `r <repository>` other content (links: whether it exists); `R <repository>` a folder of it deleted
 * (read it again whole, with the repositories nested under it); `b <digest>` a blob; `*` everything.
 */
import { randomBytes } from 'node:crypto';
import type { StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import type { StorageChanges } from '../watched-driver.js';

/** ms: how long a writer gathers events before it writes them. */
export const FLUSH_MS = 200;
/** ms: how long journal entries are kept. */
export const RETENTION_MS = 24 * 3_600_000;
const MINUTE = 60_000;
/** ms: how far back a poll looks beyond its previous one (writers' clocks may be behind, entries land late). */
const LOOKBACK_MS = 2 * MINUTE;

/** The change event of a path written or removed, or undefined when the index does not care about it. */
export function eventOf(path: string): string | undefined {
  const kind = layout.classifyPath(path);
  if (!kind) return undefined;
  switch (kind.kind) {
    case 'tag':
      return `t\t${kind.repository}\t${kind.tag}`;
    case 'revision':
      return `m\t${kind.repository}\t${kind.digest}`;
    case 'repository-content':
      return `r\t${kind.repository}`;
    case 'repository':
      return `R\t${kind.repository}`;
    case 'blob':
      return `b\t${kind.digest}`;
    case 'all':
      return '*';
  }
}

/**
 * Gathers this process's change events and writes them to the journal, once {@link enable}d: by a
 * serving process when its index starts, by `wharf gc` for its run (a process that shares no storage
 * with others, a test's app, writes none).
 */
export class JournalWriter implements StorageChanges {
  /** this writer's id in entry names (8 hex digits); a new one at every {@link enable}, as a new process would have */
  id = randomBytes(4).toString('hex');
  #enabled = false;
  #pending = new Set<string>();
  #sequence = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly driver: StorageDriver,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * Starts recording this process's changes (until {@link disable}), under a new writer id when it
   * was not recording: a restarted index replays what it wrote before as another process's.
   */
  enable(): void {
    if (!this.#enabled) this.id = randomBytes(4).toString('hex');
    this.#enabled = true;
  }

  /** Stops recording; what is pending is still written by {@link flush}. */
  disable(): void {
    this.#enabled = false;
  }

  written(path: string): void {
    this.#add(eventOf(path));
  }

  removed(path: string): void {
    this.#add(eventOf(path));
  }

  /** Writes what is pending now; resolves once it (and every earlier write) is stored. A failed write is reported and its events dropped. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const events = this.#pending;
    this.#pending = new Set();
    if (events.size > 0) {
      this.#writing = this.#writing.then(async () => {
        const at = this.now();
        const entry = `${String(at).padStart(13, '0')}-${this.id}-${this.#sequence++}`;
        try {
          await this.driver.putContent(layout.indexJournalEntry(Math.floor(at / MINUTE), entry), `${[...events].join('\n')}\n`);
        } catch (err) {
          this.onError(err);
        }
      });
    }
    return this.#writing;
  }

  #add(event: string | undefined): void {
    if (event === undefined || !this.#enabled) return;
    this.#pending.add(event);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.#timer.unref();
    }
  }
}

/** Reads the journal entries other writers added since the last poll. */
export class JournalReader {
  /** entry names seen, per minute folder still within the look-back */
  readonly #seen = new Map<number, Set<string>>();
  #polledAt: number;

  /**
   * @param since ms since the epoch: the first poll returns the entries written from then on (a
   *   snapshot's time), less the look-back
   * @param ownId a writer whose entries are skipped (this process's own, applied when they happened)
   */
  constructor(
    private readonly driver: StorageDriver,
    since: number,
    private readonly ownId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#polledAt = since;
  }

  /** The events of the entries not seen yet, oldest entry first, duplicates removed. */
  async poll(): Promise<string[]> {
    const now = this.now();
    const from = Math.floor((this.#polledAt - LOOKBACK_MS) / MINUTE);
    const to = Math.floor((now + LOOKBACK_MS) / MINUTE);
    const fresh: { minute: number; name: string }[] = [];
    for (let minute = Math.max(0, from); minute <= to; minute++) {
      const seen = this.#seen.get(minute) ?? new Set<string>();
      for (const name of await this.driver.list(layout.indexJournalMinute(minute))) {
        if (!layout.isJournalEntry(name) || seen.has(name)) continue;
        seen.add(name);
        if (name.split('-')[1] !== this.ownId) fresh.push({ minute, name });
      }
      if (seen.size > 0) this.#seen.set(minute, seen);
    }
    for (const minute of this.#seen.keys()) if (minute < Math.floor((now - LOOKBACK_MS) / MINUTE) - 1) this.#seen.delete(minute);
    this.#polledAt = now;
    fresh.sort((a, b) => (a.name < b.name ? -1 : 1));
    const events = new Set<string>();
    for (const { minute, name } of fresh) {
      let text: string;
      try {
        text = (await this.driver.getContent(layout.indexJournalEntry(minute, name))).toString('utf8');
      } catch {
        continue; // pruned meanwhile
      }
      for (const line of text.split('\n')) if (line !== '') events.add(line);
    }
    return [...events];
  }
}

/**
 * True when the journal may hold entries written from `since` on (ms since the epoch): a minute
 * folder of that minute or later, less the look-back a poll allows for writers' clocks. One listing.
 */
export async function journalSince(driver: StorageDriver, since: number): Promise<boolean> {
  const first = Math.floor((since - LOOKBACK_MS) / MINUTE);
  return (await driver.list(layout.indexJournal())).some((name) => /^\d{10}$/.test(name) && Number(name) >= first);
}

/** Deletes the journal's minute folders older than {@link RETENTION_MS}. */
export async function pruneJournal(driver: StorageDriver, now: number): Promise<void> {
  const oldest = Math.floor((now - RETENTION_MS) / MINUTE);
  for (const name of await driver.list(layout.indexJournal())) {
    const minute = Number(name);
    if (/^\d{10}$/.test(name) && minute < oldest) await driver.delete(layout.indexJournalMinute(minute));
  }
}
