/**
 * Planning the multipart upload that concatenates byte ranges of stored objects into one new object
 * (S3 "UploadPart" and "UploadPartCopy"). S3 requires every part but the last to be at least 5 MiB and
 * allows at most 10,000 parts of at most 5 GiB. A part copied on the store's side comes from ONE source
 * object, so sources smaller than 5 MiB cannot be copied part for part: they are streamed through the
 * server into parts of `partSize` bytes, while sources of 5 MiB and more are copied where the store can.
 */

/** Bytes `[start, end]` (inclusive) of the object `key`. */
export interface Piece {
  key: string;
  start: number;
  end: number;
}

/** One part of the upload: copied from one source range on the store's side, or streamed from pieces. */
export type PlannedPart = { copy: Piece; size: number } | { pieces: Piece[]; size: number };

/** The limits a plan respects, in bytes. */
export interface PlanLimits {
  /** size of streamed parts (all but the last) */
  partSize: number;
  /** the store's minimum size of any part but the last (5 MiB on S3) */
  minPartSize: number;
  /** the largest part to copy in one request (S3: 5 GiB) */
  maxCopySize: number;
  /** whether the store copies parts on its side (UploadPartCopy) */
  canCopy: boolean;
}

/** S3's minimum size in bytes of a multipart upload's parts, the last excepted (5 MiB). */
export const S3_MIN_PART = 5 * 1024 * 1024;
/** S3's maximum size in bytes of one part, and of one CopyObject (5 GiB). */
export const S3_MAX_PART = 5 * 1024 * 1024 * 1024;
/** S3's maximum number of parts of one multipart upload. */
export const S3_MAX_PARTS = 10_000;

/**
 * The parts, in order, whose concatenation is the concatenation of `sources` (each `{key, size}`).
 * Every part but the last is at least `minPartSize`; streamed parts are exactly `partSize` except the last.
 */
export function planParts(sources: readonly { key: string; size: number }[], limits: PlanLimits): PlannedPart[] {
  const plan: PlannedPart[] = [];
  let filling: { pieces: Piece[]; size: number } | undefined;
  for (const { key, size } of sources) {
    let pos = 0;
    while (pos < size) {
      const left = size - pos;
      if (!filling && limits.canCopy && left >= limits.minPartSize) {
        let length = Math.min(left, limits.maxCopySize);
        const rest = left - length;
        if (rest > 0 && rest < limits.minPartSize) length -= limits.minPartSize - rest; // leave a remainder that can be a part
        plan.push({ copy: { key, start: pos, end: pos + length - 1 }, size: length });
        pos += length;
        continue;
      }
      filling ??= { pieces: [], size: 0 };
      const take = Math.min(left, limits.partSize - filling.size);
      filling.pieces.push({ key, start: pos, end: pos + take - 1 });
      filling.size += take;
      pos += take;
      if (filling.size === limits.partSize) {
        plan.push(filling);
        filling = undefined;
      }
    }
  }
  if (filling) plan.push(filling);
  return plan;
}

/**
 * The size in bytes of the multipart part that starts at byte `start` of an upload whose length is not
 * known in advance (a streamed or chunked push), so that no upload up to S3's 5 TiB object limit needs
 * more than `maxParts` parts: `chunkSize` while that is enough, then `start / R` with
 * `R = maxParts / 16` (the parts grow geometrically with the bytes already stored), within S3's
 * 5 MiB-5 GiB bounds. A writer may end a part early (at the end of a `PATCH`) once it holds half its
 * part size, which at most doubles the count: with `maxParts` 10,000 and 10 MiB chunks, parts stay
 * 10 MiB up to 6.1 GiB, are 32 MiB at 20 GiB and 160 MiB at 100 GiB; 5 TiB needs at most ~9,600 parts.
 * After distribution/distribution#4572, whose fixed `chunksize` stops every upload at 10,000 parts.
 * @param start bytes of the upload before this part
 * @param chunkSize the configured part size, bytes (at least 5 MiB)
 */
export function partSizeAt(start: number, chunkSize: number, maxParts: number = S3_MAX_PARTS): number {
  const rate = Math.max(1, Math.floor(maxParts / 16));
  return Math.min(S3_MAX_PART, Math.max(S3_MIN_PART, chunkSize, Math.ceil(start / rate)));
}
