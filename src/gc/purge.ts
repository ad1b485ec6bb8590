/**
 * Purging what interrupted pushes leave behind: upload sessions with no activity for longer than
 * `gc.uploadpurge.age` (Distribution purges by start time; Wharf by the newest of the start time and
 * the last byte received, so a slow but live upload is never cut), and the storage driver's
 * temporary files older than the same age (a `kill -9` during an atomic write leaves one).
 */
import { statIfExists, type ListedFolders, type StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/driver-errors.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from '../registry/limit.js';

/** What a purge removed (or, in a dry run, would remove). */
export interface PurgeResult {
  uploadsPurged: number;
  /** bytes of the purged sessions' data */
  uploadBytesFreed: number;
  temporariesRemoved: number;
  temporaryBytesFreed: number;
}

/**
 * Purges abandoned upload sessions and stale temporary files.
 * @param olderThan ms since the epoch: sessions and files with no activity since are removed
 * @param listed folders the run listed already, with the temporary files found there (not read again)
 */
export async function purgeAbandoned(driver: StorageDriver, olderThan: number, dryRun: boolean, listed?: ListedFolders): Promise<PurgeResult> {
  const result: PurgeResult = { uploadsPurged: 0, uploadBytesFreed: 0, temporariesRemoved: 0, temporaryBytesFreed: 0 };
  const ids = (await driver.list(layout.UPLOADS)).filter(layout.isUploadId);
  await forEachLimit(ids, 16, async (id) => {
    const [info, data, state] = await Promise.all([
      statIfExists(driver, layout.uploadInfo(id)),
      statIfExists(driver, layout.uploadData(id)),
      driver.appendedState(layout.uploadData(id)),
    ]);
    const startedAt = await readStartedAt(driver, id);
    const lastActivity = Math.max(startedAt, info?.modTime.getTime() ?? 0, data?.modTime.getTime() ?? 0);
    if (lastActivity === 0 || lastActivity >= olderThan) return;
    if (!dryRun) await driver.delete(layout.upload(id));
    result.uploadsPurged += 1;
    result.uploadBytesFreed += state.size;
  });
  if (driver.purgeTemporaries) {
    const temporaries = await driver.purgeTemporaries(new Date(olderThan), { dryRun, listed });
    result.temporariesRemoved = temporaries.count;
    result.temporaryBytesFreed = temporaries.bytes;
  }
  return result;
}

/** The session's recorded start (ms since the epoch), 0 when its info is missing or unreadable. */
async function readStartedAt(driver: StorageDriver, id: layout.UploadId): Promise<number> {
  try {
    const t = Date.parse((JSON.parse((await driver.getContent(layout.uploadInfo(id))).toString('utf8')) as { startedAt?: string }).startedAt ?? '');
    return Number.isNaN(t) ? 0 : t;
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return 0;
    throw err;
  }
}
