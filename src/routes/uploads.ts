/**
 * Blob uploads (Distribution Spec v1.1 "Pushing blobs"): end-4a/4b `POST` (session, monolithic
 * with `?digest=`, cross-repository mount with `?mount=&from=`), end-5 `PATCH` (streamed, or chunked
 * with `Content-Range`), end-6 `PUT ?digest=`, end-13 `GET` status, `DELETE` to cancel.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { grantOf } from '../auth/middleware.js';
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { BlobInfo } from '../registry/blobs.js';
import { rangeHeaders, type ChunkRange, type UploadStatus } from '../registry/uploads.js';
import { hasBody, queryParam, repositoryOf, requestSignal, type Handler } from './context.js';

type UploadRoute = { area: 'uploads'; name: string; session: string | undefined };

function sessionHeaders(res: ServerResponse, status: UploadStatus): void {
  res.setHeader('Location', `/v2/${status.name}/blobs/uploads/${status.id}`);
  res.setHeader('Docker-Upload-UUID', status.id);
  res.setHeader('Range', rangeHeaders(status).Range);
  res.setHeader('Content-Length', 0);
}

function created(res: ServerResponse, name: RepositoryName, blob: BlobInfo): void {
  res.setHeader('Location', `/v2/${name}/blobs/${blob.digest}`);
  res.setHeader('Docker-Content-Digest', blob.digest);
  res.setHeader('Content-Length', 0);
  res.statusCode = 201;
  res.end();
}

function sessionOf(route: UploadRoute): string {
  if (!route.session) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { message: 'the URL names no upload session' });
  return route.session;
}

/**
 * Parses `Content-Range: <start>-<end>` (the spec's form; `bytes ` and `bytes=` prefixes tolerated)
 * and checks it against Content-Length.
 * @throws RegistryError RANGE_INVALID (416) when malformed or inconsistent
 */
export function parseContentRange(req: IncomingMessage): ChunkRange | undefined {
  const raw = req.headers['content-range'];
  if (raw === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(raw.trim());
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2]) : NaN;
  const length = req.headers['content-length'];
  if (!m || end < start || (length !== undefined && Number(length) !== end - start + 1)) {
    req.resume();
    throw new RegistryError('RANGE_INVALID', {
      message: `Content-Range "${raw.slice(0, 100)}" is malformed or does not match Content-Length ${length ?? '(absent)'}`,
      detail: { contentRange: raw.slice(0, 100) },
    });
  }
  return { start, end };
}

/** `POST /v2/<name>/blobs/uploads/`: 202 with a session, or 201 for a monolithic upload or a successful mount. */
export const startUpload: Handler<UploadRoute> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const mount = queryParam(req, 'mount');
  if (mount !== undefined) {
    const digest = parseDigest(mount).digest;
    const fromParam = queryParam(req, 'from');
    // only repositories the request's own credential grants pull on (a token's access claim, not the
    // account's rules): a blob linked elsewhere is never mounted (nor revealed)
    const grant = grantOf(res);
    const candidates = fromParam === undefined ? await deps.registry.catalog.repositories() : [parseRepositoryName(fromParam)];
    const sources = candidates.filter((r) => grant.allows(r, 'pull'));
    const mounted = await deps.registry.blobs.mount(name, digest, sources);
    if (mounted) {
      req.resume();
      await deps.events?.record(req, res, 'mount', { kind: 'blob', repository: name, digest, size: mounted.size, fromRepository: fromParam });
      created(res, name, mounted);
      return;
    }
  }
  const digestParam = mount === undefined ? queryParam(req, 'digest') : undefined;
  const digest = digestParam === undefined ? undefined : parseDigest(digestParam);
  const status = await deps.registry.uploads.create(name);
  if (digest) {
    let blob: BlobInfo;
    try {
      blob = await deps.registry.uploads.commit(name, status.id, digest, req, undefined, requestSignal(req));
    } catch (err) {
      await deps.registry.uploads.cancel(name, status.id).catch(() => undefined);
      throw err;
    }
    await deps.events?.record(req, res, 'push', { kind: 'blob', repository: name, digest: blob.digest, size: blob.size });
    created(res, name, blob);
    return;
  }
  req.resume();
  sessionHeaders(res, status);
  res.statusCode = 202;
  res.end();
};

/** `PATCH` of a session: appends the body (streamed, or a chunk at `Content-Range`); 202 with the new Range. */
export const patchUpload: Handler<UploadRoute> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const id = sessionOf(route);
  const range = parseContentRange(req);
  const status = await deps.registry.uploads.append(name, id, req, range, requestSignal(req));
  sessionHeaders(res, status);
  res.statusCode = 202;
  res.end();
};

/** `PUT ?digest=` of a session: appends an optional last chunk, verifies the digest, 201; 400 DIGEST_INVALID on mismatch. */
export const finishUpload: Handler<UploadRoute> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const id = sessionOf(route);
  const digestParam = queryParam(req, 'digest');
  if (digestParam === undefined) {
    req.resume();
    throw new RegistryError('DIGEST_INVALID', { message: 'the digest query parameter is required to complete an upload' });
  }
  const digest = parseDigest(digestParam);
  const body = hasBody(req) ? req : undefined;
  const range = body ? parseContentRange(req) : undefined;
  if (!body) req.resume();
  const blob = await deps.registry.uploads.commit(name, id, digest, body, range, requestSignal(req));
  await deps.events?.record(req, res, 'push', { kind: 'blob', repository: name, digest: blob.digest, size: blob.size });
  created(res, name, blob);
};

/** `GET` of a session: 204 with `Range: 0-<last byte>`. */
export const uploadStatus: Handler<UploadRoute> = async (_req, res, route, deps) => {
  const status = await deps.registry.uploads.status(repositoryOf(route), sessionOf(route));
  sessionHeaders(res, status);
  res.statusCode = 204;
  res.end();
};

/** `DELETE` of a session: cancels it and deletes its bytes; 204. */
export const cancelUpload: Handler<UploadRoute> = async (_req, res, route, deps) => {
  await deps.registry.uploads.cancel(repositoryOf(route), sessionOf(route));
  res.setHeader('Content-Length', 0);
  res.statusCode = 204;
  res.end();
};
