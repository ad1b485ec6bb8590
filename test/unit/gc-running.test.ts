/**
 * One garbage collection at a time per process and storage (src/gc/running.ts), dry runs included:
 * a second start, dry or not, is refused with GcBusyError naming the run under way, through any
 * decorator of the same driver, until that run's final record is stored; a dry run does not start
 * while another run holds the lease; a dry run's record left "running" by a stopped process reads as failed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gcOptionsFrom } from '../../src/gc/options.js';
import { GcBusyError, GcLease } from '../../src/gc/lease.js';
import { claimRunSlot, runningGc } from '../../src/gc/running.js';
import { GcRunRecords, STALE_DRY_RUN_MS, startRecordedRun, type GcRunRecord } from '../../src/gc/runs.js';
import { watched } from '../../src/registry/watched-driver.js';
import type { GcRunId } from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { GatedDriver } from '../integration/gc-helpers.js';
import { testConfig } from '../integration/harness.js';

const GC = testConfig('inmemory', undefined).gc;

/** The GcBusyError `start` rejects with. */
async function refusal(start: Promise<unknown>): Promise<GcBusyError> {
  const err = await start.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GcBusyError);
  return err as GcBusyError;
}

describe('one garbage collection at a time in a process', () => {
  it('claimRunSlot refuses a second claim on the same storage, through any decorator, naming the run under way; another storage is free', () => {
    const driver = new MemoryDriver();
    const free = claimRunSlot(watched(driver), { runId: 'a', dryRun: true, startedAt: '2026-12-07T10:00:00.000Z' });
    let err: unknown;
    try {
      claimRunSlot(driver, { runId: 'b', dryRun: false, startedAt: '2026-12-07T10:00:01.000Z' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GcBusyError);
    expect((err as GcBusyError).runId).toBe('a');
    expect((err as GcBusyError).message).toBe(
      'garbage collection run a (a dry run, started 2026-12-07T10:00:00.000Z) is under way in this process: one run at a time, dry runs included: start another once it ended',
    );
    expect(runningGc(driver)?.runId).toBe('a');
    claimRunSlot(new MemoryDriver(), { runId: 'c', dryRun: false, startedAt: '' })();
    free();
    free(); // twice: harmless
    expect(runningGc(driver)).toBeUndefined();
    claimRunSlot(driver, { runId: 'b', dryRun: false, startedAt: '' })();
  });

  it('a dry run under way refuses another dry run and a deleting run; both start once its final record is stored', async () => {
    const memory = new MemoryDriver();
    const gated = new GatedDriver(memory);
    const first = await startRecordedRun(gated, gcOptionsFrom(GC, { dryRun: true }));
    expect(runningGc(memory)?.runId).toBe(first.id);
    for (const dryRun of [true, false]) {
      const err = await refusal(startRecordedRun(memory, gcOptionsFrom(GC, { dryRun })));
      expect(err.runId).toBe(first.id);
      expect(err.message).toContain(`garbage collection run ${first.id} (a dry run, started `);
    }
    gated.open();
    const record = await first.done;
    expect(record).toMatchObject({ id: first.id, state: 'succeeded', dryRun: true });
    expect(runningGc(memory)).toBeUndefined();
    for (const dryRun of [true, false]) expect((await (await startRecordedRun(memory, gcOptionsFrom(GC, { dryRun }))).done).state).toBe('succeeded');
  });

  it('a deleting run under way refuses a dry run in the same process', async () => {
    const memory = new MemoryDriver();
    const gated = new GatedDriver(memory);
    const first = await startRecordedRun(gated, { ...gcOptionsFrom(GC), lease: { settleMs: 1 } });
    const err = await refusal(startRecordedRun(memory, gcOptionsFrom(GC, { dryRun: true })));
    expect(err.runId).toBe(first.id);
    expect(err.message).toContain('(a deleting run, started ');
    gated.open();
    expect((await first.done).state).toBe('succeeded');
  });

  it('a start refused by the lease frees the slot', async () => {
    const driver = new MemoryDriver();
    const holder = await GcLease.acquire(driver, randomUUID() as GcRunId, { settleMs: 1 });
    try {
      await refusal(startRecordedRun(driver, { ...gcOptionsFrom(GC), lease: { settleMs: 1 } }));
      expect(runningGc(driver)).toBeUndefined();
    } finally {
      await holder.release();
    }
  });

  it('a dry run does not start while another process holds the lease (GcBusyError naming its run); it starts once the lease is released', async () => {
    const driver = new MemoryDriver();
    const holder = await GcLease.acquire(driver, randomUUID() as GcRunId, { settleMs: 1 });
    try {
      const err = await refusal(startRecordedRun(driver, gcOptionsFrom(GC, { dryRun: true })));
      expect(err.runId).toBe(holder.runId);
      expect(err.message).toContain(`another garbage collection is running (run ${holder.runId}`);
      expect(runningGc(driver)).toBeUndefined();
      expect(await new GcRunRecords(driver).list()).toEqual([]);
    } finally {
      await holder.release();
    }
    expect((await (await startRecordedRun(driver, gcOptionsFrom(GC, { dryRun: true }))).done).state).toBe('succeeded');
  });
});

describe('a dry run record left running', () => {
  const at = Date.parse('2026-12-07T10:00:00.000Z');
  const record = (id: string, progressAt: string | null): GcRunRecord =>
    ({
      id,
      state: 'running',
      dryRun: true,
      deleteUntagged: false,
      startedAt: new Date(at).toISOString(),
      finishedAt: null,
      progress: progressAt === null ? null : { phase: 'mark', at: progressAt },
      report: null,
      error: null,
    }) as unknown as GcRunRecord;

  it('reads as failed once its progress is older than STALE_DRY_RUN_MS, unless this process runs it', async () => {
    const driver = new MemoryDriver();
    const id = randomUUID();
    let now = at + 5_000;
    const records = new GcRunRecords(driver, () => now);
    await records.put(record(id, new Date(at + 1_000).toISOString()));
    expect((await records.get(id))?.state).toBe('running');
    now = at + 1_000 + STALE_DRY_RUN_MS + 1;
    expect(await records.get(id)).toMatchObject({ state: 'failed', error: 'the process running it stopped before it finished' });
    const free = claimRunSlot(driver, { runId: id, dryRun: true, startedAt: new Date(at).toISOString() });
    expect((await records.get(id))?.state).toBe('running');
    free();
    const noProgress = randomUUID();
    await records.put(record(noProgress, null));
    expect((await records.get(noProgress))?.state).toBe('failed');
  });
});
