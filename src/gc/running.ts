/**
 * One garbage collection at a time in a process, dry runs included. The lease (lease.ts) keeps
 * deleting runs apart across processes, but a dry run takes none: without this, every
 * `POST /admin/v1/gc {"dryRun": true}` (or a scheduled run beside one) would start another full read
 * of the registry, and a deleting run beside a dry run would make the dry run's report describe
 * objects being deleted under it. So each process keeps, per storage (the driver under its
 * decorators), the run it has under way, and refuses a second start with {@link GcBusyError} naming
 * that run: the admin API answers 409 GC_RUNNING with its id, a scheduled tick skips.
 */
import type { StorageDriver } from '../storage/driver.js';
import { innermost } from '../registry/watched-driver.js';
import { GcBusyError } from './lease.js';

/** The run a process has under way on one storage. */
export interface RunningGc {
  runId: string;
  dryRun: boolean;
  /** ISO 8601 */
  startedAt: string;
  /** stops the run at its next step (GcRun.stop); set once the run started */
  stop?: (reason: string) => void;
  /** settles once the run ended and its final record is written; set once the run started */
  ended?: Promise<unknown>;
}

const running = new WeakMap<StorageDriver, RunningGc>();

/**
 * Claims `driver`'s run slot of this process for `run`, until the returned function is called.
 * @throws GcBusyError naming the run under way (`runId`) when the slot is taken
 */
export function claimRunSlot(driver: StorageDriver, run: RunningGc): () => void {
  const key = innermost(driver);
  const current = running.get(key);
  if (current) {
    const kind = current.dryRun ? 'a dry run' : 'a deleting run';
    throw new GcBusyError(
      undefined,
      current.runId,
      `garbage collection run ${current.runId} (${kind}, started ${current.startedAt}) is under way in this process: one run at a time, dry runs included: start another once it ended`,
    );
  }
  running.set(key, run);
  return () => {
    if (running.get(key) === run) running.delete(key);
  };
}

/**
 * Stops the run this process has under way on `driver`'s storage, if any, and resolves once it
 * ended (its record says failed, with `reason`; its lease is released): a graceful stop of the server
 * does not leave a run "running" whose lease holds every other run off until it expires.
 */
export async function stopRunningGc(driver: StorageDriver, reason: string): Promise<void> {
  const run = runningGc(driver);
  run?.stop?.(reason);
  await run?.ended;
}

/** The run this process has under way on `driver`'s storage, if any. */
export function runningGc(driver: StorageDriver): RunningGc | undefined {
  return running.get(innermost(driver));
}
