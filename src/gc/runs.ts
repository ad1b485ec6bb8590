/**
 * GC run records (`/_gc/runs/<id>`): what the admin API answers for a run, from any process that
 * shares the storage. A run started in the background writes "running", then "succeeded" with its
 * report or "failed" with the error. A record still "running" whose run no longer holds an active
 * lease belonged to a process that stopped midway: it is reported as failed; so is a dry run's (it
 * holds no lease) whose progress, stored every second, is older than {@link STALE_DRY_RUN_MS} and
 * that this process is not running. A process runs one collection at a time (running.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/driver-errors.js';
import * as layout from '../storage/layout.js';
import { boundedReport, GcRun } from './collector.js';
import { type GcOptions } from './options.js';
import { giveMemoryBack } from './give-back.js';
import { isActive, readLease } from './protocol.js';
import { claimRunSlot, runningGc, type RunningGc } from './running.js';
import type { GcReport, GcRunRecord } from './report.js';

export type { GcRunRecord, GcRunState } from './report.js';

/** How many run records are kept; older ones are removed when a run starts. */
export const KEEP_RECORDS = 50;

/**
 * How old the stored progress of a dry run still "running" may be before its record is reported as
 * failed (its process stopped midway), ms: a running dry run stores it every second; the default
 * lease time to live, the patience a deleting run's lease gets.
 */
export const STALE_DRY_RUN_MS = 60_000;

const STOPPED = 'the process running it stopped before it finished';

/** Reads and writes run records. */
export class GcRunRecords {
  constructor(
    private readonly driver: StorageDriver,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores `record`. */
  async put(record: GcRunRecord): Promise<void> {
    await this.driver.putContent(layout.gcRun(record.id as layout.GcRunId), JSON.stringify(record));
  }

  /** The record of run `id`, or undefined when there is none (or `id` is not a run id). */
  async get(id: string): Promise<GcRunRecord | undefined> {
    if (!layout.isGcRunId(id)) return undefined;
    let record: GcRunRecord;
    try {
      record = JSON.parse((await this.driver.getContent(layout.gcRun(id))).toString('utf8')) as GcRunRecord;
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) return undefined;
      throw err;
    }
    if (record.state === 'running' && !record.dryRun) {
      const lease = await readLease(this.driver);
      if (lease?.runId !== id || !isActive(lease, this.now())) return { ...record, state: 'failed', error: STOPPED };
    }
    if (record.state === 'running' && record.dryRun && runningGc(this.driver)?.runId !== id) {
      const storedAt = Date.parse(record.progress?.at ?? record.startedAt);
      if (!(this.now() - storedAt <= STALE_DRY_RUN_MS)) return { ...record, state: 'failed', error: STOPPED };
    }
    return record;
  }

  /** The most recent records, newest first. */
  async list(limit = KEEP_RECORDS): Promise<GcRunRecord[]> {
    const ids = (await this.driver.list(layout.gcRuns())).filter(layout.isGcRunId);
    const records = (await Promise.all(ids.map((id) => this.get(id)))).filter((r): r is GcRunRecord => r !== undefined);
    return records.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0)).slice(0, limit);
  }

  /** Removes all but the newest {@link KEEP_RECORDS} records. */
  async prune(): Promise<void> {
    const all = await this.list(Number.MAX_SAFE_INTEGER);
    await Promise.all(all.slice(KEEP_RECORDS).map((r) => this.driver.delete(layout.gcRun(r.id as layout.GcRunId))));
  }
}

/** How often a running run's record is rewritten with its progress, ms. */
const PROGRESS_INTERVAL_MS = 1000;

/**
 * Starts a run whose steps continue in the background, recording it; returns once the lease is
 * taken (so a busy collector is reported to the caller) and the "running" record is stored. While it
 * runs, its record is rewritten with its progress every `options.progressIntervalMs` (1 s). The run
 * holds this process's run slot for the storage (running.ts) until its final record is written.
 * @returns the run id, and a promise of the final record (it never rejects)
 * @throws GcBusyError when this process has a run (dry or not) under way on the storage, or another
 *   run holds the lease (a dry run too does not start then: see GcRun.start)
 */
export async function startRecordedRun(driver: StorageDriver, options: GcOptions, logger?: Logger): Promise<{ id: string; done: Promise<GcRunRecord> }> {
  const records = new GcRunRecords(driver, options.now);
  const id = randomUUID() as layout.GcRunId;
  const startedAt = new Date((options.now ?? Date.now)()).toISOString();
  const slot: RunningGc = { runId: id, dryRun: options.dryRun, startedAt };
  const freeSlot = claimRunSlot(driver, slot);
  let run: GcRun;
  let base: GcRunRecord;
  try {
    run = await GcRun.start(driver, options, id);
    base = { id, state: 'running', dryRun: options.dryRun, deleteUntagged: options.deleteUntagged, startedAt, finishedAt: null, progress: run.progress(), report: null, error: null };
    try {
      await records.put(base);
    } catch (err) {
      await run.release();
      throw err;
    }
  } catch (err) {
    freeSlot();
    throw err;
  }
  const done = (async (): Promise<GcRunRecord> => {
    let final: GcRunRecord;
    let reported: GcReport | undefined;
    // one progress write at a time (a tick while one is under way is skipped), done before the final record is written
    let writing: Promise<void> | undefined;
    const progress = setInterval(() => {
      writing ??= records
        .put({ ...base, progress: run.progress() })
        .catch((err: unknown) => logger?.warn({ runId: run.id, err }, 'cannot store the garbage collection progress'))
        .finally(() => (writing = undefined));
    }, options.progressIntervalMs ?? PROGRESS_INTERVAL_MS);
    try {
      const report = await run.execute();
      final = { ...base, state: 'succeeded', finishedAt: report.finishedAt, progress: null, report };
      reported = report;
      logger?.info({ gc: summary(report) }, 'garbage collection finished');
    } catch (err) {
      final = { ...base, state: 'failed', finishedAt: new Date().toISOString(), progress: null, error: (err as Error).message };
      logger?.error({ runId: run.id, err }, 'garbage collection failed');
    }
    clearInterval(progress);
    await writing;
    freeSlot(); // before the final record: whoever reads it finished may start the next run at once
    try {
      await records.put(reported ? { ...final, report: boundedReport(reported) } : final);
      await records.prune();
    } catch (err) {
      logger?.error({ runId: run.id, err }, 'cannot store the garbage collection record');
    }
    await run.release().catch((err: unknown) => logger?.error({ runId: run.id, err }, 'cannot release the garbage collection lease'));
    setImmediate(giveMemoryBack); // once the run's own frames are gone
    return final;
  })();
  slot.stop = (reason) => run.stop(reason);
  slot.ended = done;
  return { id: run.id, done };
}

/** The report's totals, for a log line. */
export function summary(report: GcReport): Record<string, unknown> {
  const { repositories: _repositories, ...totals } = report;
  return totals;
}
