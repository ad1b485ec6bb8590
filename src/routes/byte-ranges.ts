/**
 * Range requests of a blob (RFC 9110 section 14): parsing `Range: bytes=...` with one or several
 * ranges, and the framing of a `multipart/byteranges` answer (section 14.6). Pure: no I/O.
 *
 * - A header that is not a valid `bytes` ranges-specifier is ignored (the whole blob, 200), as RFC
 *   9110 section 14.2 allows; so is one of more than {@link MAX_RANGES} ranges.
 * - Unsatisfiable ranges (starting at or past the end) are dropped; when none is left: 416.
 * - Overlapping ranges are coalesced (section 14.6 allows it), so a request cannot make the server send
 *   the same bytes many times. Adjacent ones are not: containers/image (podman, skopeo, CRI-O) asks for
 *   the chunks of a zstd:chunked layer, often adjacent, and matches the parts of the answer to its
 *   chunks one to one (docker/docker_image_src.go, handle206Response: "invalid number of chunks
 *   returned by the server"), as CNCF Distribution (Go's http.ServeContent) answers them.
 */
import { randomBytes } from 'node:crypto';
import { RegistryError } from '../oci/errors.js';

/** An inclusive byte range `[start, end]` of a blob. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The most ranges one request may ask for; past it the whole blob is sent (200). containers/storage
 * asks for at most 1024 chunks per request (pkg/chunked, maxNumberMissingChunks).
 */
export const MAX_RANGES = 1024;

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Parses a `Range` header for a blob of `size` bytes.
 * @returns the ranges to send, in the order asked (overlapping ones coalesced, in offset order);
 *   undefined when the whole blob is to be sent (no header, an invalid one, or more than {@link MAX_RANGES} ranges)
 * @throws RegistryError RANGE_INVALID (416, `Content-Range: bytes *\/size`) when no range is satisfiable
 */
export function parseRanges(header: string | undefined, size: number): ByteRange[] | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (!value.startsWith('bytes=')) return undefined;
  const specs = value
    .slice('bytes='.length)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    if (m[1] === '') {
      const suffix = Number(m[2]);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
    if (start < size) ranges.push({ start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) });
  }
  if (ranges.length === 0) {
    throw new RegistryError('RANGE_INVALID', {
      message: `range "${header.slice(0, 100)}" is outside the blob's ${size} bytes`,
      detail: { size },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  return coalesceOverlapping(ranges);
}

/** The ranges as given when none overlaps another; else sorted by offset, overlapping ones merged. */
function coalesceOverlapping(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  if (sorted.every((r, i) => i === 0 || r.start > sorted[i - 1]!.end)) return ranges;
  const merged: ByteRange[] = [];
  for (const r of sorted) {
    const last = merged.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** The framing of a `multipart/byteranges` body: what to write before each part and after the last. */
export interface MultipartPlan {
  /** the response's `Content-Type`, with the boundary */
  contentType: string;
  /** the body's length in bytes, framing included */
  contentLength: number;
  /** per range, the bytes to write before its data (boundary line and part headers) */
  heads: Buffer[];
  /** the closing boundary, after the last part's data */
  tail: Buffer;
}

/**
 * Plans the `multipart/byteranges` body of `ranges` of a blob of `size` bytes (RFC 9110 section 14.6;
 * each part `Content-Type: application/octet-stream` and `Content-Range: bytes a-b/size`, framed as
 * RFC 2046 section 5.1.1 says: CRLF before each boundary line but the first).
 */
export function planMultipart(ranges: readonly ByteRange[], size: number): MultipartPlan {
  const boundary = randomBytes(16).toString('hex');
  const heads = ranges.map((r, i) =>
    Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`, 'latin1'),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const data = ranges.reduce((sum, r) => sum + r.end - r.start + 1, 0);
  const contentLength = data + tail.length + heads.reduce((sum, h) => sum + h.length, 0);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, contentLength, heads, tail };
}
