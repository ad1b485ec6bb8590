/**
 * The GC lease (`/_gc/lease`, record shape in protocol.ts): one garbage collection at a time, also
 * across processes sharing one storage, without the compare-and-swap the drivers do not have.
 *
 * Taking it: read the lease; if an active run holds it, give up (busy). Otherwise write our own
 * record with a random owner id, wait `settleMs`, read it again: of several takers racing, the last
 * writer wins and the others see its owner id and give up. A taker whose read was stale (its write
 * landed after another taker had already checked) can still overwrite a winner; so the holder
 * re-reads the lease before every delete (retention's tag deletes included) and before moving to
 * the sweep phase, and stops as soon as the lease is no longer its own: a run that lost its lease
 * deletes at most the one object it was deleting. Holding it: the record is renewed every quarter
 * of its time to live; a holder that could not renew stops {@link CLOCK_SKEW_MS} before its
 * expiry. A crashed holder's lease expires, and the next run takes it over.
 */
import { randomUUID } from 'node:crypto';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { CLOCK_SKEW_MS, isActive, readLease, type GcLeaseRecord, type GcPhase } from './protocol.js';

/** Options of {@link GcLease.acquire}. */
export interface LeaseOptions {
  /** how long the lease lives without renewal, in ms (default 60 s) */
  ttlMs?: number;
  /** how long a taker waits before re-reading the lease it wrote, in ms (default 500) */
  settleMs?: number;
  /** the clock, ms since the epoch */
  now?: () => number;
}

/**
 * Another run is in the way: it holds the lease (or won the race for it), or, for a start refused
 * in-process (running.ts), it is under way in this process.
 */
export class GcBusyError extends Error {
  override readonly name = 'GcBusyError';
  /**
   * @param holder the lease in the way, when that is what refused the start
   * @param runId the id of the run in the way (default the holder's), when known
   * @param message what to tell the user (default: the holder's run, start, phase and lease expiry)
   */
  constructor(
    readonly holder: GcLeaseRecord | undefined,
    readonly runId: string | undefined = holder?.runId,
    message: string = busyMessage(holder),
  ) {
    super(message);
  }
}

function busyMessage(holder: GcLeaseRecord | undefined): string {
  return holder
    ? `another garbage collection is running (run ${holder.runId}, started ${holder.startedAt}, phase ${holder.phase}, lease until ${new Date(holder.expiresAt).toISOString()})`
    : 'another garbage collection took the lease at the same moment';
}

/** This run lost its lease (another process took it over, or renewal failed past its expiry): it must stop deleting. */
export class GcLeaseLostError extends Error {
  override readonly name: string = 'GcLeaseLostError';
}

/**
 * The run was stopped by its process (a graceful stop of the server): it ends at its next step, as a
 * run that lost its lease does (the check before every delete), so nothing is half deleted.
 */
export class GcStoppedError extends GcLeaseLostError {
  override readonly name = 'GcStoppedError';
}

/** A held lease: renewed in the background until {@link release}. */
export class GcLease {
  readonly #driver: StorageDriver;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #record: GcLeaseRecord;
  #timer: NodeJS.Timeout | undefined;
  #lost: Error | undefined;
  /** the newest read of the lease record, and when it began (performance.now(), ms) */
  #lastRead: { at: number; record: Promise<GcLeaseRecord | undefined> } | undefined;
  /** serialises this holder's writes, so a renewal never writes an older phase over a newer one */
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(driver: StorageDriver, record: GcLeaseRecord, ttlMs: number, now: () => number) {
    this.#driver = driver;
    this.#record = record;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /**
   * Takes the lease for run `runId` in phase "mark".
   * @throws GcBusyError when an active run holds it or another taker won
   */
  static async acquire(driver: StorageDriver, runId: layout.GcRunId, options: LeaseOptions = {}): Promise<GcLease> {
    const ttlMs = options.ttlMs ?? 60_000;
    const settleMs = options.settleMs ?? 500;
    const now = options.now ?? Date.now;
    const current = await readLease(driver);
    if (isActive(current, now())) throw new GcBusyError(current);
    const record: GcLeaseRecord = { runId, owner: randomUUID(), phase: 'mark', expiresAt: now() + ttlMs, startedAt: new Date(now()).toISOString() };
    await driver.putContent(layout.gcLease(), JSON.stringify(record));
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const seen = await readLease(driver);
    if (seen?.owner !== record.owner) throw new GcBusyError(seen);
    const lease = new GcLease(driver, record, ttlMs, now);
    lease.#timer = setInterval(() => void lease.renew(), Math.max(10, ttlMs / 4));
    lease.#timer.unref();
    return lease;
  }

  /** The run this lease is for. */
  get runId(): layout.GcRunId {
    return this.#record.runId;
  }

  /**
   * Re-reads the lease and checks it is still this run's, with time left. With `maxAgeMs`, a read at
   * most that old (ms, one read shared by the checks meanwhile) answers instead: the sweep checks before
   * every delete, and a read per delete would be a storage request per deleted object. That staleness is
   * the touch listing's (sweep.ts): another run can take the lease over only once it has expired, which
   * the time check here sees at once, whatever the read's age; a lease removed or overwritten by hand
   * stops the run within `maxAgeMs`. Phase changes and renewals always read afresh.
   * @throws GcLeaseLostError
   */
  async assertHeld(maxAgeMs = 0): Promise<void> {
    if (this.#lost) throw this.#lost;
    const at = performance.now();
    if (maxAgeMs <= 0 || this.#lastRead === undefined || at - this.#lastRead.at > maxAgeMs) this.#lastRead = { at, record: readLease(this.#driver) };
    const seen = await this.#lastRead.record;
    if (seen?.owner !== this.#record.owner) this.#lost = new GcLeaseLostError(`run ${this.runId} lost the GC lease to ${seen ? `run ${seen.runId}` : 'nobody (it was removed)'}`);
    else if (this.#now() > this.#record.expiresAt - CLOCK_SKEW_MS) this.#lost = new GcLeaseLostError(`run ${this.runId} could not renew the GC lease in time`);
    if (this.#lost) throw this.#lost;
  }

  /** Makes every later {@link assertHeld} throw `stopped`: the run ends at its next delete, as when the lease is lost. */
  stop(stopped: GcStoppedError): void {
    this.#lost ??= stopped;
  }

  /**
   * Moves to `phase` (persisted before this returns).
   * @throws GcLeaseLostError
   */
  setPhase(phase: Exclude<GcPhase, 'done'>): Promise<void> {
    return this.write(async () => {
      await this.assertHeld();
      await this.put({ ...this.#record, phase, expiresAt: this.#now() + this.#ttlMs });
    });
  }

  /** Ends the run: the lease becomes "done" (kept, so guards see the run id change), renewal stops. */
  release(): Promise<void> {
    clearInterval(this.#timer);
    return this.write(async () => {
      const seen = await readLease(this.#driver);
      if (seen?.owner === this.#record.owner) await this.put({ ...this.#record, phase: 'done', expiresAt: this.#now() });
    });
  }

  private renew(): Promise<void> {
    return this.write(async () => {
      if (this.#lost) return;
      try {
        await this.assertHeld();
        await this.put({ ...this.#record, expiresAt: this.#now() + this.#ttlMs });
      } catch (err) {
        this.#lost ??= err instanceof GcLeaseLostError ? err : undefined; // a failed write is retried next time; assertHeld notices expiry
      }
    });
  }

  private async put(record: GcLeaseRecord): Promise<void> {
    await this.#driver.putContent(layout.gcLease(), JSON.stringify(record));
    this.#record = record;
  }

  private write(work: () => Promise<void>): Promise<void> {
    const next = this.#writes.then(work, work);
    this.#writes = next.catch(() => undefined);
    return next;
  }
}
