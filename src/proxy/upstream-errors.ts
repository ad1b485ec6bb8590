/**
 * What the cache answers when its upstream fails and nothing cached can stand in: the spec's error
 * JSON with a message naming the upstream, and a status that tells the client whether to retry.
 */
import { ClientError, RegistryClientError } from '../client/index.js';
import { RegistryError } from '../oci/errors.js';
import type { UpstreamTarget } from './routing.js';

/** The code of "the upstream does not have it": of a manifest or tag, of a blob, of a repository (its tag list). */
export type NotFoundCode = 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'NAME_UNKNOWN';

/**
 * True when the upstream says it does not have the object: 404, or 401/403 after the client answered
 * the challenge (Docker Hub answers 401 for a repository that does not exist, or that the
 * credentials may not read).
 */
export function isUpstreamNotFound(err: unknown): boolean {
  return err instanceof RegistryClientError && (err.status === 404 || err.status === 401 || err.status === 403);
}

/**
 * The error to answer for a failed upstream request about `what` (a tag, a digest) of `target`:
 * - not found upstream (see {@link isUpstreamNotFound}): `notFound`, 404;
 * - 429 from the upstream: TOOMANYREQUESTS, with its `Retry-After`;
 * - the upstream's own deadline passed: UNAVAILABLE, 504;
 * - anything else (refused connection, 5xx, refused credentials, wrong bytes): UNAVAILABLE, 502.
 */
export function upstreamFailure(target: UpstreamTarget, err: unknown, what: string, notFound: NotFoundCode): RegistryError {
  const { upstream, remote } = target;
  const where = place(target, what);
  if (isUpstreamNotFound(err)) return upstreamNotFound(target, what, notFound, (err as RegistryClientError).status);
  const detail = { upstream: upstream.name, repository: remote, reference: what, cause: (err as Error).message };
  if (err instanceof RegistryClientError && err.status === 429) {
    return new RegistryError('TOOMANYREQUESTS', {
      message: `upstream ${upstream.name} (${upstream.url}) is rate-limiting this registry and nothing is cached for ${where}: retry later`,
      detail,
      headers: err.retryAfter !== undefined ? { 'Retry-After': String(Math.ceil(err.retryAfter)) } : {},
    });
  }
  const timedOut = err instanceof ClientError && err.code === 'ABORTED';
  return new RegistryError('UNAVAILABLE', {
    status: timedOut ? 504 : 502,
    message: timedOut
      ? `upstream ${upstream.name} (${upstream.url}) did not answer within ${upstream.timeoutMs / 1000}s and nothing is cached for ${where}`
      : `upstream ${upstream.name} (${upstream.url}) failed and nothing is cached for ${where}: ${(err as Error).message}`,
    detail,
  });
}

/**
 * The error for `what` (a tag, a digest) of `target` that the upstream does not have.
 * @param status what the upstream answered: 404, or 401/403 (said in the message)
 */
export function upstreamNotFound(target: UpstreamTarget, what: string, code: NotFoundCode, status = 404): RegistryError {
  const { upstream, remote } = target;
  const why = status === 404 ? '' : ` (it answered ${status}: the repository does not exist there, or the upstream's credentials may not read it)`;
  return new RegistryError(code, {
    message: `${place(target, what)} is not on upstream ${upstream.name} (${upstream.url})${why}`,
    detail: { upstream: upstream.name, repository: remote, reference: what },
  });
}

/** `repository:tag` or `repository@digest`. */
function place(target: UpstreamTarget, what: string): string {
  return `${target.remote}${what.includes(':') ? '@' : ':'}${what}`;
}
