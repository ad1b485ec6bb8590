/**
 * Blob reads and deletes (Distribution Spec v1.1 end-2 `GET/HEAD /v2/<name>/blobs/<digest>`,
 * end-10 `DELETE`), with byte ranges (RFC 9110 section 14): one range answers 206 with
 * `Content-Range`, several answer 206 `multipart/byteranges` (see byte-ranges.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDigest, type Digest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/reference.js';
import type { BlobInfo } from '../registry/blobs.js';
import type { Registry } from '../registry/registry.js';
import { parseRanges, planMultipart, type ByteRange } from './byte-ranges.js';
import { inRepository, repositoryOf, requireDeletes, type Handler, type RouteDeps } from './context.js';

type BlobRoute = { area: 'blobs'; name: string; digest: string };

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
  await sendStoredBlob(req, res, name, info, deps);
};

/**
 * Answers a GET or HEAD of blob `info` stored in repository `name` (access already checked with
 * `blobs.head`): 200, or 206 for ranges, or 307 to the storage's presigned URL; a GET is a pull event.
 */
export async function sendStoredBlob(req: IncomingMessage, res: ServerResponse, name: RepositoryName, info: BlobInfo, deps: RouteDeps): Promise<void> {
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
    void deps.events?.record(req, res, 'pull', { kind: 'blob', repository: name, digest, size: info.size });
    res.end();
    return;
  }
  blobHeaders(res, digest);
  const ranges = parseRanges(req.headers.range, info.size);
  if (ranges && ranges.length > 1) {
    await sendParts(deps.registry, digest, ranges, info.size, res, req.method === 'HEAD');
    return;
  }
  const range = ranges?.[0];
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
  void deps.events?.record(req, res, 'pull', { kind: 'blob', repository: name, digest, size: info.size });
}

/** Answers 206 `multipart/byteranges` with `ranges` of the blob, one part after the other (headers only for HEAD). */
async function sendParts(registry: Registry, digest: Digest, ranges: ByteRange[], size: number, res: ServerResponse, headOnly: boolean): Promise<void> {
  const plan = planMultipart(ranges, size);
  res.statusCode = 206;
  res.setHeader('Content-Type', plan.contentType);
  res.setHeader('Content-Length', plan.contentLength);
  if (headOnly) {
    res.end();
    return;
  }
  for (const [i, r] of ranges.entries()) {
    res.write(plan.heads[i]);
    await registry.blobs.send(digest, { offset: r.start, length: r.end - r.start + 1 }, res, { end: false });
  }
  res.end(plan.tail);
}

/** `DELETE` of a blob: removes the repository's link (202); 405 UNSUPPORTED when deletes are disabled. */
export const deleteBlob: Handler<BlobRoute> = async (req, res, route, deps) => {
  requireDeletes(deps, 'GET, HEAD');
  const name = repositoryOf(route);
  const { digest } = parseDigest(route.digest);
  await inRepository(deps, name, () => deps.registry.blobs.unlink(name, digest));
  await deps.events?.record(req, res, 'delete', { kind: 'blob', repository: name, digest });
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('Content-Length', 0);
  res.statusCode = 202;
  res.end();
};
