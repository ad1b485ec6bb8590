/**
 * The upload sessions' totals (how many, the bytes they received) for `GET /admin/v1/storage`, kept
 * beside the admin index instead of read per request (a listing of `uploads/` and a stat per session
 * on every call cost O(sessions) each time, and made the storage totals the slowest admin read).
 *
 * Exactness (docs/admin-api.md#the-index): this process's own changes are exact at once: every write
 * or delete under `uploads/<id>/` the driver's change feed reports marks that session, and the next
 * request reads that session alone again (read-your-writes); a session this process wrote to is read
 * again at every request until it is deleted, since an append under way (a large blob streaming in)
 * grows its bytes before the feed hears of it. So a request reads this process's open sessions, never
 * every session. Sessions other processes open, fill or
 * delete (replicas, `wharf gc` purging abandoned uploads) are seen by a whole reading (a listing of
 * `uploads/` and a stat per session), at most {@link UPLOADS_MAX_AGE_MS} old when a request answers:
 * a request that finds the reading older than that waits for a new one; one that finds it older than
 * half of it starts a new one in the background and answers at once.
 */
import { type StorageDriver } from '../../storage/driver.js';
import { isNotFound } from '../../storage/driver-errors.js';
import * as layout from '../../storage/layout.js';
import type { StorageChanges } from '../watched-driver.js';
import { forEachLimit } from '../limit.js';

/** Upload sessions: how many, and the bytes they hold. */
export interface UploadUsage {
  count: number;
  bytes: number;
}

/** ms: the oldest whole reading of the upload sessions a request answers from (other processes' sessions). */
export const UPLOADS_MAX_AGE_MS = 30_000;
const PREFIX = `${layout.UPLOADS}/`;

/** The upload session id of a path under `uploads/<id>/`, or undefined. */
function sessionOf(path: string): string | undefined {
  if (!path.startsWith(PREFIX)) return undefined;
  const id = path.slice(PREFIX.length).split('/', 1)[0]!;
  return layout.isUploadId(id) ? id : undefined;
}

/** The bytes session `id` received so far, or undefined when the session is gone. */
async function readSession(driver: StorageDriver, id: layout.UploadId): Promise<number | undefined> {
  let children: string[];
  try {
    children = await driver.list(layout.upload(id));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (children.length === 0) return undefined;
  return (await driver.appendedState(layout.uploadData(id))).size;
}

/** The upload sessions' totals of one storage, kept (see the module comment). */
export class UploadTotals implements StorageChanges {
  #sessions = new Map<string, number>();
  #count = 0;
  #bytes = 0;
  /** sessions this process changed since they were last read */
  #dirty = new Set<string>();
  /** sessions this process wrote to and did not delete: read at every request */
  #own = new Set<string>();
  /** sessions changed while a whole reading runs (it may have listed them before the change) */
  #changedDuringReading: Set<string> | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<void> | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly maxAgeMs = UPLOADS_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  written(path: string): void {
    const id = this.#touch(path);
    if (id !== undefined) this.#own.add(id);
  }

  removed(path: string): void {
    if (path === layout.UPLOADS || path === '/' || layout.UPLOADS.startsWith(`${path}/`)) this.#readAt = Number.NEGATIVE_INFINITY;
    else this.#touch(path);
  }

  /** The sessions' totals: this process's changes exact, other processes' within {@link UPLOADS_MAX_AGE_MS}. */
  async usage(): Promise<UploadUsage> {
    const age = this.now() - this.#readAt;
    if (age > this.maxAgeMs) await this.#readAll();
    else if (age > this.maxAgeMs / 2) this.#readAll().catch(() => undefined); // the next request retries
    if (this.#dirty.size > 0 || this.#own.size > 0) {
      const dirty = [...new Set([...this.#dirty, ...this.#own])];
      this.#dirty.clear();
      await forEachLimit(dirty, 16, async (id) => this.#set(id, await readSession(this.driver, id as layout.UploadId)));
    }
    return { count: this.#count, bytes: this.#bytes };
  }

  #touch(path: string): string | undefined {
    const id = sessionOf(path);
    if (id === undefined) return undefined;
    this.#dirty.add(id);
    this.#changedDuringReading?.add(id);
    return id;
  }

  #set(id: string, bytes: number | undefined): void {
    const before = this.#sessions.get(id);
    if (before !== undefined) {
      this.#count -= 1;
      this.#bytes -= before;
      this.#sessions.delete(id);
    }
    if (bytes === undefined) this.#own.delete(id);
    else {
      this.#count += 1;
      this.#bytes += bytes;
      this.#sessions.set(id, bytes);
    }
  }

  /** Lists every session and reads its bytes (one reading at a time); sessions changed meanwhile are read again after. */
  #readAll(): Promise<void> {
    this.#reading ??= (async () => {
      const startedAt = this.now();
      const changed = new Set<string>();
      this.#changedDuringReading = changed;
      try {
        const listed = await this.driver.list(layout.UPLOADS).catch((err: unknown) => (isNotFound(err) ? ([] as string[]) : Promise.reject(err as Error)));
        const ids = listed.filter((id): id is layout.UploadId => layout.isUploadId(id));
        const sessions = new Map<string, number>();
        await forEachLimit(ids, 16, async (id) => {
          const bytes = await readSession(this.driver, id);
          if (bytes !== undefined) sessions.set(id, bytes);
        });
        this.#sessions = new Map();
        this.#count = 0;
        this.#bytes = 0;
        for (const [id, bytes] of sessions) this.#set(id, bytes);
        for (const id of changed) this.#dirty.add(id);
        this.#readAt = startedAt;
      } finally {
        this.#changedDuringReading = undefined;
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}
