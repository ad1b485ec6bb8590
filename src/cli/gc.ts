/**
 * `wharf gc [--config FILE] [--dry-run] [--delete-untagged] [--grace DURATION] [--json]`: runs
 * retention and garbage collection once against the configured storage, the same collector as the
 * server's, and prints the report, including what it kept only because of the grace period (and when
 * that can go) and the untagged manifests it kept. Safe while `wharf serve` runs on the same storage
 * (the GC lease and the pushes' guard coordinate through storage); exits 1 when another run holds the lease, with --dry-run too.
 */
import { ConfigError, loadConfig } from '../config/load.js';
import { duration } from '../config/schema.js';
import { configWarnings } from '../config/warnings.js';
import { type GcReport } from '../gc/collector.js';
import { gcOptionsFrom } from '../gc/options.js';
import { startRecordedRun, type GcRunRecord } from '../gc/runs.js';
import { adminIndexOf } from '../registry/admin-index/admin-index-of.js';
import { createDriver } from '../storage/factory.js';

/** The read cache of `wharf gc`'s filesystem driver, bytes. */
const GC_READ_CACHE_BYTES = 256 * 1024;

/** Options of {@link gc}. */
export interface GcCommandOptions {
  config?: string;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  /** the grace period of this run instead of `gc.grace`, as a duration (`0s`, `10m`) */
  grace?: string;
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
  // a run reads every object once: a read cache would only hold (and churn) memory; and this process serves
  // nobody while it reads, so on the filesystem it reads synchronously, without the thread pool's hand-overs
  const storage = await createDriver(config.storage, { readCacheBytes: GC_READ_CACHE_BYTES, blockingReads: true });
  await storage.check?.();
  const graceMs = options.grace === undefined ? undefined : parseGrace(options.grace);
  // the run's deletes reach the admin indexes of the servers on the same storage through the journal
  const journal = adminIndexOf(storage).journal;
  journal.enable();
  let record: GcRunRecord;
  try {
    const { done } = await startRecordedRun(storage, gcOptionsFrom(config.gc, { dryRun: options.dryRun, deleteUntagged: options.deleteUntagged, graceMs }));
    record = await done;
  } finally {
    await journal.flush();
  }
  if (!record.report) throw new Error(`garbage collection run ${record.id} failed: ${record.error ?? 'unknown error'}`);
  out.write(options.json ? `${JSON.stringify(record.report, null, 2)}\n` : formatReport(record.report));
}

/**
 * `--grace` as milliseconds, with the configuration's duration syntax.
 * @throws ConfigError naming the option, the value and the syntax
 */
function parseGrace(value: string): number {
  const parsed = duration.safeParse(value);
  if (!parsed.success) throw new ConfigError(`--grace ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? 'invalid'} (e.g. --grace 0s, --grace 10m)`);
  return parsed.data;
}

/** The report as text: totals, what the grace period and untagged manifests kept, then one line per repository. */
export function formatReport(r: GcReport): string {
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `garbage collection ${r.runId}${r.dryRun ? ' (dry run: nothing was deleted)' : ''}`,
    `  ${verb} ${r.tagsDeleted} tags (retention), ${r.manifestsDeleted} manifests, ${r.blobsDeleted} blobs (${r.bytesFreed} bytes), ${r.linksDeleted} blob links`,
    `  ${r.dryRun ? 'would purge' : 'purged'} ${r.uploadsPurged} abandoned upload sessions (${r.uploadBytesFreed} bytes), ${r.temporariesRemoved} temporary files (${r.temporaryBytesFreed} bytes)`,
    `  kept ${r.keptTouched} candidates that pushes used meanwhile; grace ${r.graceMs / 1000}s; took ${r.durationMs} ms`,
  ];
  const g = r.keptByGrace;
  if (g.manifests + g.blobs > 0) {
    lines.push(
      `  kept ${g.manifests} manifests and ${g.blobs} blobs (${g.bytes} bytes) only because they are younger than the grace period (${r.graceMs / 1000}s): ` +
        `collectable from ${g.collectableBy}, or now with --grace 0s`,
    );
  }
  if (r.untaggedKept > 0) lines.push(`  kept ${r.untaggedKept} untagged manifests (no tag reaches them): --delete-untagged deletes them`);
  for (const [name, repo] of Object.entries(r.repositories).sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`  ${name}: ${repo.tagsDeleted} tags, ${repo.manifestsDeleted} manifests, ${repo.linksDeleted} links, ${repo.bytesFreed} bytes`);
  }
  return `${lines.join('\n')}\n`;
}
