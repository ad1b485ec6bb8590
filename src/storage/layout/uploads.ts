/**
 * Paths of short-lived objects: upload sessions (the bytes a push sent so far and the session's
 * info) and the start-up probe. See layout.ts for the whole tree.
 */
import type { UploadId } from './ids.js';

/** Root of all upload sessions. */
export const UPLOADS = '/uploads';

/** An upload session's folder. */
export function upload(id: UploadId): string {
  return `${UPLOADS}/${id}`;
}

/** The bytes an upload session received so far: a chunked object (see StorageDriver.append), a file on disk, a folder of part objects on S3. */
export function uploadData(id: UploadId): string {
  return `${UPLOADS}/${id}/data`;
}

/** An upload session's info (owning repository, start time). */
export function uploadInfo(id: UploadId): string {
  return `${UPLOADS}/${id}/info`;
}

/** A throw-away object the server writes and deletes at start-up to check that the storage is writable. */
export function startupProbe(id: string): string {
  return `/_probe-${id.replace(/[^a-z0-9-]/g, '')}`;
}
