/**
 * Blob pushes (Distribution Spec v1.1 "Pushing blobs", go-containerregistry `remote.uploadOne`):
 * HEAD (skip when the repository has it) -> mount from another repository of the same registry
 * (`POST ?mount=&from=`; 201 done, 202 falls back to an upload in the session it opened) -> POST ->
 * one `PUT ?digest=` with the body for small blobs, or `PATCH`es of `chunkSize` bytes with
 * `Content-Range` then `PUT ?digest=` for large ones.
 *
 * Resumable, where crane and skopeo restart from zero: after a failed PATCH (network cut, registry
 * restart, 5xx) the client asks the session's status (`GET` of the session, `Range: 0-<last>`),
 * and continues from the registry's offset, re-opening its source there. A session the registry
 * lost (404) starts over; a 416 tells the offset in its own `Range`. Each resume needs progress:
 * `retry.retries` failures in a row without a byte gained end the upload.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { repositoryScope } from './auth/challenge.js';
import { ClientError, isRegistryError } from './errors.js';
import { drain, header } from './http-body.js';
import type { CallOptions, Repo, RegistryClient } from './registry-client.js';
import { isRetryable, retryDelay } from './retry.js';
import { counting } from './streams.js';

/** Opens `length` bytes of a blob's content from byte `offset` (re-opened to resume). */
export type BlobOpener = (offset: number, length: number, signal?: AbortSignal) => Promise<Readable>;

/** Options of {@link uploadBlob}. */
export interface UploadOptions extends CallOptions {
  /** a repository of the same registry that has the blob: mount it from there first */
  mountFrom?: string;
  /** skip the HEAD (the caller knows the blob is missing) */
  skipExists?: boolean;
  /** called as bytes are accepted: bytes of this blob done so far (it may go back on a resume) */
  onProgress?: (done: number) => void;
}

/** How a blob came to be in the repository. */
export type UploadResult = 'exists' | 'mounted' | 'uploaded';

/**
 * Makes blob `desc` present in `repo`, reading its bytes from `open` only when needed.
 * @throws RegistryClientError (DIGEST_INVALID when the bytes do not match, ...) | ClientError
 */
export async function uploadBlob(client: RegistryClient, repo: Repo, desc: Descriptor, open: BlobOpener, options: UploadOptions = {}): Promise<UploadResult> {
  const { signal } = options;
  if (!options.skipExists && (await client.headBlob(repo, desc.digest, { signal })) !== undefined) {
    options.onProgress?.(desc.size);
    return 'exists';
  }
  const scopes = [repositoryScope(repo.repository, ['pull', 'push'])];
  if (options.mountFrom && options.mountFrom !== repo.repository) scopes.push(repositoryScope(options.mountFrom, ['pull']));
  let failures = 0;
  for (let mount = options.mountFrom; ; mount = undefined) {
    const query = mount && mount !== repo.repository ? `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(mount)}` : '';
    const res = await client.request(repo.registry, scopes, { method: 'POST', path: `/v2/${repo.repository}/blobs/uploads/${query}`, expect: [201, 202], signal });
    await drain(res);
    if (res.status === 201) {
      options.onProgress?.(desc.size);
      return 'mounted';
    }
    const location = sessionUrl(res, client.baseUrl(repo.registry));
    try {
      if (desc.size <= client.monolithicMax) await putWhole(client, repo, scopes, location, desc, open, options);
      else await sendChunks(client, repo, scopes, location, desc, open, options);
      return 'uploaded';
    } catch (err) {
      if (!(err instanceof SessionLost) || ++failures > client.retry.retries) throw err instanceof SessionLost ? err.cause : err;
      if ((await client.headBlob(repo, desc.digest, { signal })) !== undefined) return 'uploaded';
    }
  }
}

/** The session vanished (404 BLOB_UPLOAD_UNKNOWN) or a whole PUT failed: start a new one. */
class SessionLost extends Error {}

async function putWhole(client: RegistryClient, repo: Repo, scopes: string[], location: string, desc: Descriptor, open: BlobOpener, o: UploadOptions): Promise<void> {
  try {
    const res = await client.request(repo.registry, scopes, {
      method: 'PUT',
      path: withDigest(location, desc.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: async () => counted(await open(0, desc.size, o.signal), o.onProgress),
      expect: [201, 204],
      retry: false,
      signal: o.signal,
    });
    await drain(res);
  } catch (err) {
    if (isRetryable(err) || isRegistryError(err, { code: 'BLOB_UPLOAD_UNKNOWN' })) {
      await sleep(retryDelay(client.retry, 0, err), undefined, { signal: o.signal }).catch(() => undefined);
      throw new SessionLost('upload failed', { cause: err });
    }
    throw err;
  }
}

async function sendChunks(client: RegistryClient, repo: Repo, scopes: string[], location: string, desc: Descriptor, open: BlobOpener, o: UploadOptions): Promise<void> {
  let offset = 0;
  let stalled = 0;
  while (offset < desc.size) {
    const length = Math.min(client.chunkSize, desc.size - offset);
    const start = offset;
    try {
      const res = await client.request(repo.registry, scopes, {
        method: 'PATCH',
        path: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${start}-${start + length - 1}`,
          'content-length': String(length),
        },
        body: async () => counted(await open(start, length, o.signal), o.onProgress && ((n) => o.onProgress?.(start + n))),
        expect: [202],
        retry: false,
        signal: o.signal,
      });
      await drain(res);
      location = sessionUrl(res, location);
      offset = start + length;
      stalled = 0;
    } catch (err) {
      if (o.signal?.aborted) throw err;
      const resumable = isRetryable(err) || isRegistryError(err, { status: 416 });
      if (!resumable) throw isRegistryError(err, { code: 'BLOB_UPLOAD_UNKNOWN' }) ? new SessionLost('session lost', { cause: err }) : err;
      if (++stalled > client.retry.retries) throw err;
      await sleep(retryDelay(client.retry, stalled - 1, err), undefined, { signal: o.signal });
      const status = await sessionStatus(client, repo, scopes, location, o.signal);
      location = status.location;
      if (status.offset > offset) stalled = 0;
      offset = status.offset;
      o.onProgress?.(offset);
    }
  }
  const res = await client.request(repo.registry, scopes, {
    method: 'PUT',
    path: withDigest(location, desc.digest),
    headers: { 'content-length': '0' },
    expect: [201, 204],
    signal: o.signal,
  }).catch(async (err: unknown) => {
    if (isRegistryError(err, { code: 'BLOB_UPLOAD_UNKNOWN' })) throw new SessionLost('session lost', { cause: err });
    throw err;
  });
  await drain(res);
}

/**
 * Asks the registry how much of the session it holds (`GET` of the session: 204 with
 * `Range: 0-<last>`).
 * @throws SessionLost when the registry no longer knows the session
 */
async function sessionStatus(client: RegistryClient, repo: Repo, scopes: string[], location: string, signal?: AbortSignal): Promise<{ offset: number; location: string }> {
  try {
    const res = await client.request(repo.registry, scopes, { method: 'GET', path: location, expect: [204, 200], signal });
    await drain(res);
    return { offset: rangeEnd(header(res, 'range')), location: sessionUrl(res, location) };
  } catch (err) {
    if (isRegistryError(err, { status: 404 })) throw new SessionLost('session lost', { cause: err });
    throw err;
  }
}

/** The offset after `Range: 0-<last>` (`0-0`, or none, is read as nothing held). */
export function rangeEnd(range: string | undefined): number {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  if (!m) return 0;
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

/** The absolute session URL of a response's `Location` (relative ones resolved against `base`), else `base`. */
function sessionUrl(res: { headers: Record<string, string | string[] | undefined> }, base: string): string {
  const location = res.headers.location;
  const value = Array.isArray(location) ? location[0] : location;
  if (!value) {
    if (/^https?:\/\/[^/]+\/v2\/.+\/blobs\/uploads\/.+/.test(base)) return base;
    throw new ClientError('PROTOCOL', 'the registry opened an upload session without a Location');
  }
  return new URL(value, base).toString();
}

function withDigest(location: string, digest: Digest): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** `source` counted for progress, or as it is when nobody listens (one stream hop less per chunk). */
function counted(source: Readable, onBytes: ((total: number) => void) | undefined): Readable {
  return onBytes ? counting(source, onBytes) : source;
}
