/**
 * Blob reads and deletes (Distribution Spec v1.1 end-2 `GET/HEAD /v2/<name>/blobs/<digest>`,
 * end-10 `DELETE`), with single byte ranges (RFC 9110 section 14).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { BlobInfo } from '../registry/blobs.js';
import { inRepository, repositoryOf, requireDeletes, type Handler, type RouteDeps } from './context.js';

type BlobRoute = { area: 'blobs'; name: string; digest: string };

/** An inclusive byte range `[start, end]` of a blob. */
interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range: bytes=a-b | bytes=a- | bytes=-n` header for a blob of `size` bytes.
 * @returns the range; undefined when there is no header or it is not a single byte range (then the whole blob is sent)
 * @throws RegistryError RANGE_INVALID (416, `Content-Range: bytes *\/size`) when unsatisfiable
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) start = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size || start > end) {
    throw new RegistryError('RANGE_INVALID', {
      message: `range "${header.slice(0, 100)}" is outside the blob's ${size} bytes`,
      detail: { size },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  return { start, end };
}

/** The headers of a blob answer: digest, type, ranges accepted, ETag, cached for a year (content-addressed). */
export function blobHeaders(res: ServerResponse, digest: string): void {
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', `"${digest}"`);
  res.setHeader('Cache-Control', 'max-age=31536000');
}

/**
 * `GET` and `HEAD` of a blob: 200 (or 206 for a range) with Content-Length and Docker-Content-Digest;
 * a GET answers 307 to the storage's presigned URL when the driver redirects; 404 BLOB_UNKNOWN.
 */
export const getBlob: Handler<BlobRoute> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const { digest } = parseDigest(route.digest);
  const info = await inRepository(deps, name, () => deps.registry.blobs.head(name, digest));
  await sendStoredBlob(req, res, info, deps);
};

/**
 * Answers a GET or HEAD of stored blob `info` (access already checked with `blobs.head`): 200, or
 * 206 for a range, or 307 to the storage's presigned URL.
 */
export async function sendStoredBlob(req: IncomingMessage, res: ServerResponse, info: BlobInfo, deps: RouteDeps): Promise<void> {
  const { digest } = info;
  const redirect = req.method === 'GET' ? await deps.registry.blobs.redirectURL(digest) : undefined;
  if (redirect) {
    // the storage serves the bytes (storage.s3.redirect): 307 keeps the method, HEAD stays here;
    // the URL expires, so the redirect must not be cached
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Location', redirect);
    res.setHeader('Content-Length', 0);
    res.statusCode = 307;
    res.end();
    return;
  }
  blobHeaders(res, digest);
  const range = parseRange(req.headers.range, info.size);
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
  }
  const length = range ? range.end - range.start + 1 : info.size;
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  await deps.registry.blobs.send(digest, range ? { offset: range.start, length } : undefined, res);
}

/** `DELETE` of a blob: removes the repository's link (202); 405 UNSUPPORTED when deletes are disabled. */
export const deleteBlob: Handler<BlobRoute> = async (_req, res, route, deps) => {
  requireDeletes(deps, 'GET, HEAD');
  const name = repositoryOf(route);
  const { digest } = parseDigest(route.digest);
  await inRepository(deps, name, () => deps.registry.blobs.unlink(name, digest));
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('Content-Length', 0);
  res.statusCode = 202;
  res.end();
};
