/**
 * Leftovers of interrupted commits on S3 (StorageDriver.purgeTemporaries, run by the upload purge of
 * src/gc/purge.ts after it purged the abandoned sessions, which aborts their multipart uploads):
 *
 * - `_objects/<uuid>` objects that no pointer names: a process killed between completing a session's
 *   multipart upload and writing the blob's pointer (s3-chunked.ts) leaves one, and a session purged
 *   after that cannot abort its (completed) upload;
 * - multipart uploads under `_objects/` that no session's `upload-<tag>` object names (a process killed
 *   between CreateMultipartUpload and writing that object); a live session's upload is never aborted,
 *   however old (the session purge decides on sessions, by their last activity).
 *
 * Only objects and uploads older than the purge's age are candidates, so a commit in progress is never
 * touched. The pointers are found by listing every key under the root directory and asking each empty
 * object for its metadata (pointers are empty; links, tags and manifests are not): a HEAD per pointer.
 * An object is deleted only when two such scans, one after the other, found no pointer naming it (a
 * pointer moved during one scan can hide from it, not from both); a HEAD that fails stops the purge
 * instead of counting a pointer as absent.
 */
import { AbortMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, type _Object } from '@aws-sdk/client-s3';
import { PathNotFoundError } from './driver-errors.js';
import { OBJECTS, type S3Bucket } from './s3-bucket.js';
import { isChunkedObjectPart, isUploadObject, readUploadObject } from './s3-records.js';
import type { Pointers } from './s3-pointers.js';

/** What a purge removed (or would remove, in a dry run): objects and uploads, and the objects' bytes. */
export interface OrphansPurged {
  count: number;
  bytes: number;
}

/** The `_objects/` objects older than `olderThan` that no pointer names, by key; and the keys of the sessions' upload objects. */
async function unreferenced(s3: S3Bucket, pointers: Pointers, olderThan: Date): Promise<{ candidates: Map<string, _Object>; uploadObjects: string[] }> {
  const objectsPrefix = `${s3.prefix}${OBJECTS}/`;
  const candidates = new Map<string, _Object>();
  const uploadObjects: string[] = [];
  const named = new Set<string>();
  for await (const o of s3.keys('/', s3.prefix)) {
    const key = o.Key!;
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (key.startsWith(objectsPrefix)) {
      if ((o.LastModified?.getTime() ?? Infinity) < olderThan.getTime()) candidates.set(key, o);
      continue;
    }
    if (isUploadObject(name)) uploadObjects.push(key);
    if ((o.Size ?? 0) > 0 || key === s3.prefix || isChunkedObjectPart(name)) continue;
    const target = await pointers.strictTargetOf(key);
    if (target !== undefined) named.add(target);
  }
  for (const key of named) candidates.delete(key);
  return { candidates, uploadObjects };
}

/** The UploadIds the sessions' `upload-<tag>` objects name (gone ones skipped). */
async function sessionUploads(s3: S3Bucket, keys: readonly string[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const Key of keys) {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key })).catch((err: unknown) => {
      if (s3.translate(err, '/') instanceof PathNotFoundError) return undefined;
      throw s3.translate(err, '/');
    });
    if (out) ids.add(readUploadObject(await out.Body!.transformToString()).uploadId);
  }
  return ids;
}

/** Aborts (or counts) the multipart uploads under `_objects/` initiated before `olderThan` that no session names. */
async function abortStaleUploads(s3: S3Bucket, olderThan: Date, named: () => Promise<Set<string>>, dryRun: boolean): Promise<number> {
  let count = 0;
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send('/', () =>
      s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${s3.prefix}${OBJECTS}/`, KeyMarker, UploadIdMarker })),
    );
    for (const u of page.Uploads ?? []) {
      if ((u.Initiated?.getTime() ?? Infinity) >= olderThan.getTime() || (await named()).has(u.UploadId!)) continue;
      if (!dryRun) await s3.send('/', () => s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: u.Key!, UploadId: u.UploadId! })));
      count += 1;
    }
    if (!page.IsTruncated || page.NextKeyMarker === undefined) return count;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}

/**
 * Deletes (or, with `dryRun`, counts) the orphaned `_objects/` objects and stale multipart uploads
 * older than `olderThan` (see the module's comment).
 * @throws StorageUnavailableError (or the SDK's error) when a listing or a HEAD fails; nothing is then deleted on the scans' word
 */
export async function purgeOrphans(s3: S3Bucket, pointers: Pointers, olderThan: Date, dryRun: boolean): Promise<OrphansPurged> {
  const first = await unreferenced(s3, pointers, olderThan);
  const second = first.candidates.size === 0 ? first : await unreferenced(s3, pointers, olderThan);
  const orphans = [...second.candidates.values()].filter((o) => first.candidates.has(o.Key!));
  if (!dryRun) for (let i = 0; i < orphans.length; i += 1000) await s3.deleteKeys('/', orphans.slice(i, i + 1000));
  let named: Promise<Set<string>> | undefined;
  const uploads = await abortStaleUploads(s3, olderThan, () => (named ??= sessionUploads(s3, second.uploadObjects)), dryRun);
  return { count: orphans.length + uploads, bytes: orphans.reduce((n, o) => n + (o.Size ?? 0), 0) };
}
