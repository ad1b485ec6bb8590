/**
 * `wharf gc [--config FILE] [--dry-run] [--delete-untagged] [--json]`: runs retention and garbage
 * collection once against the configured storage, the same collector as the server's, and prints
 * the report. Safe while `wharf serve` runs on the same storage (the GC lease and the pushes' guard
 * coordinate through storage); exits 1 when another run holds the lease.
 */
import { ConfigError, loadConfig } from '../config/load.js';
import { configWarnings } from '../config/warnings.js';
import { gcOptionsFrom, type GcReport } from '../gc/collector.js';
import { startRecordedRun, type GcRunRecord } from '../gc/runs.js';
import { adminIndexOf } from '../registry/admin-index/admin-index.js';
import { createDriver } from '../storage/factory.js';

/** The read cache of `wharf gc`'s filesystem driver, bytes. */
const GC_READ_CACHE_BYTES = 256 * 1024;

/** Options of {@link gc}. */
export interface GcCommandOptions {
  config?: string;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  /** print the report as JSON instead of text */
  json?: boolean;
}

/**
 * Runs one collection and writes its report to stdout (`out`); warnings of risky settings go to stderr (`errors`).
 * @throws ConfigError for an invalid configuration or in-memory storage; GcBusyError when another run holds the lease;
 *   the run's error when it failed
 */
export async function gc(options: GcCommandOptions, out: NodeJS.WritableStream = process.stdout, errors: NodeJS.WritableStream = process.stderr): Promise<void> {
  const config = loadConfig(options.config);
  if (config.storage.inmemory) {
    throw new ConfigError('storage.inmemory: `wharf gc` runs in its own process and cannot reach an in-memory registry; use POST /admin/v1/gc');
  }
  for (const w of configWarnings(config)) errors.write(`wharf gc: warning: config key "${w.key}" ${w.message}\n`);
  // a run reads every object once: a read cache would only hold (and churn) memory
  const storage = await createDriver(config.storage, { readCacheBytes: GC_READ_CACHE_BYTES });
  await storage.check?.();
  // the run's deletes reach the admin indexes of the servers on the same storage through the journal
  const journal = adminIndexOf(storage).journal;
  journal.enable();
  let record: GcRunRecord;
  try {
    const { done } = await startRecordedRun(storage, gcOptionsFrom(config.gc, { dryRun: options.dryRun, deleteUntagged: options.deleteUntagged }));
    record = await done;
  } finally {
    await journal.flush();
  }
  if (!record.report) throw new Error(`garbage collection run ${record.id} failed: ${record.error ?? 'unknown error'}`);
  out.write(options.json ? `${JSON.stringify(record.report, null, 2)}\n` : formatReport(record.report));
}

/** The report as text: totals, then one line per repository. */
export function formatReport(r: GcReport): string {
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `garbage collection ${r.runId}${r.dryRun ? ' (dry run: nothing was deleted)' : ''}`,
    `  ${verb} ${r.tagsDeleted} tags (retention), ${r.manifestsDeleted} manifests, ${r.blobsDeleted} blobs (${r.bytesFreed} bytes), ${r.linksDeleted} blob links`,
    `  purged ${r.uploadsPurged} abandoned upload sessions (${r.uploadBytesFreed} bytes), ${r.temporariesRemoved} temporary files (${r.temporaryBytesFreed} bytes)`,
    `  kept ${r.keptTouched} candidates that pushes used meanwhile; grace ${r.graceMs / 1000}s; took ${r.durationMs} ms`,
  ];
  for (const [name, repo] of Object.entries(r.repositories).sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`  ${name}: ${repo.tagsDeleted} tags, ${repo.manifestsDeleted} manifests, ${repo.linksDeleted} links, ${repo.bytesFreed} bytes`);
  }
  return `${lines.join('\n')}\n`;
}
