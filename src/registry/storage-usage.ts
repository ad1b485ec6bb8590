/**
 * The upload sessions under `uploads/` (in progress or abandoned) and the bytes they received, for
 * `GET /admin/v1/storage` (the blob totals come from the admin index). Knows nothing of HTTP.
 */
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from './limit.js';

/** Upload sessions: how many, and the bytes they hold. */
export interface UploadUsage {
  count: number;
  bytes: number;
}

/** Counts the upload sessions of `driver` and sums the bytes each received, 16 sessions at a time. */
export async function uploadUsage(driver: StorageDriver): Promise<UploadUsage> {
  const sessions = (await driver.list(layout.UPLOADS)).filter(layout.isUploadId);
  let bytes = 0;
  await forEachLimit(sessions, 16, async (id) => {
    const { size } = await driver.appendedState(layout.uploadData(id));
    bytes += size;
  });
  return { count: sessions.length, bytes };
}
