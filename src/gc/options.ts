/**
 * What one garbage collection run does ({@link GcOptions}), and how the configuration's `gc`
 * section and a request's overrides (`wharf gc`, the admin API) make them.
 */
import type { Config, RetentionRule } from '../config/schema.js';
import type { LeaseOptions } from './lease.js';

/** What one run does. */
export interface GcOptions {
  /** report only: no lease, nothing deleted */
  dryRun: boolean;
  /** delete manifests no tag reaches, in every repository (retention rules may turn it on per repository) */
  deleteUntagged: boolean;
  /** nothing modified more recently than this is swept, in ms (0 allowed) */
  graceMs: number;
  /** upload sessions and temporary files idle for longer than this are purged, in ms */
  uploadPurgeAgeMs: number;
  retention: readonly RetentionRule[];
  /** lease timing (tests shorten it) */
  lease?: LeaseOptions;
  /** how often a recorded run (runs.ts) stores its progress, ms (default 1000; tests shorten it) */
  progressIntervalMs?: number;
  /** the clock, ms since the epoch */
  now?: () => number;
}

/** The run options from the configuration's `gc` section, with a request's overrides (`graceMs`: `wharf gc --grace`). */
export function gcOptionsFrom(gc: Config['gc'], overrides: { dryRun?: boolean; deleteUntagged?: boolean; graceMs?: number } = {}): GcOptions {
  return {
    dryRun: overrides.dryRun ?? false,
    deleteUntagged: overrides.deleteUntagged === true || gc.deleteuntagged,
    graceMs: overrides.graceMs ?? gc.grace,
    uploadPurgeAgeMs: gc.uploadpurge.age,
    retention: gc.retention,
  };
}
