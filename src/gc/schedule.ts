/**
 * Scheduled runs (`gc.interval`): `wharf serve` runs retention and garbage collection every
 * interval, recorded like the admin API's runs. A tick that finds another run holding the lease
 * (another process, or an on-demand run) skips; ticks never overlap in one process.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { StorageDriver } from '../storage/driver.js';
import { gcOptionsFrom } from './options.js';
import { GcBusyError } from './lease.js';
import { startRecordedRun, type GcRunRecord } from './runs.js';

/** A running schedule. */
export interface GcSchedule {
  /** Stops scheduling; resolves once a run under way has finished. */
  stop(): Promise<void>;
}

/**
 * Starts scheduled runs every `gc.interval`; undefined when the interval is not configured.
 * @param onRun told of each run once it ended (metrics)
 */
export function scheduleGc(driver: StorageDriver, gc: Config['gc'], logger: Logger, onRun?: (record: GcRunRecord) => void): GcSchedule | undefined {
  if (gc.interval === undefined) return undefined;
  let running: Promise<unknown> | undefined;
  const tick = (): void => {
    if (running) return;
    running = (async () => {
      try {
        const { done } = await startRecordedRun(driver, gcOptionsFrom(gc), logger);
        const record = await done;
        onRun?.(record);
      } catch (err) {
        if (err instanceof GcBusyError) logger.info({ reason: err.message }, 'scheduled garbage collection skipped');
        else logger.error({ err }, 'scheduled garbage collection could not start');
      }
    })().finally(() => (running = undefined));
  };
  const timer = setInterval(tick, gc.interval);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
