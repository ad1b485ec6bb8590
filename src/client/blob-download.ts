/**
 * Blob pulls that survive a cut: a body that breaks mid-blob is re-requested with `Range` from the
 * first byte not yet received (RFC 9110 section 14.2), up to `retry.retries` times without
 * progress. {@link rangeStream} gives a byte range (what parallel pulls, copies and resumed uploads
 * read); {@link fetchBlob} gives the whole blob, verified against its descriptor's digest and size.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Descriptor } from '../oci/manifest.js';
import { ClientError } from './errors.js';
import type { CallOptions, Repo, RegistryClient } from './registry-client.js';
import { isRetryable, retryDelay } from './retry.js';
import { Verifier } from './streams.js';

/**
 * The bytes `[offset, offset + length)` of blob `desc` in `repo`, as one stream that resumes cuts
 * with ranged GETs. Not verified (a range cannot be): verify the whole where it is assembled.
 * @throws (as the stream's error) RegistryClientError | ClientError PROTOCOL when the registry sends too much
 */
export function rangeStream(client: RegistryClient, repo: Repo, desc: Descriptor, offset: number, length: number, options: CallOptions = {}): Readable {
  const end = offset + length;
  async function* bytes(): AsyncGenerator<Buffer> {
    let position = offset;
    let stalled = 0;
    while (position < end) {
      const before = position;
      try {
        const whole = position === 0 && end === desc.size;
        const res = await client.blobResponse(repo, desc.digest, whole ? { signal: options.signal } : { offset: position, length: end - position, signal: options.signal });
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (position + chunk.length > end) {
            res.body.destroy();
            throw new ClientError('SIZE_MISMATCH', `blob ${desc.digest} of ${repo.repository}: the registry sent more than the ${desc.size} bytes its descriptor says`);
          }
          position += chunk.length;
          yield chunk;
        }
        if (position < end) throw new CutError(`blob ${desc.digest}: the body ended at byte ${position} of ${end}`);
      } catch (err) {
        if (options.signal?.aborted || !(err instanceof CutError || isRetryable(err) || !(err instanceof ClientError))) throw err;
        stalled = position > before ? 0 : stalled + 1;
        if (stalled > client.retry.retries) throw err;
        await sleep(retryDelay(client.retry, stalled, err), undefined, { signal: options.signal });
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

/** A body that ended early: resumed like a network cut. */
class CutError extends Error {}

/**
 * The whole blob `desc` of `repo` as a stream, verified: its last chunk is followed by an error
 * instead of the end when the size or digest does not match the descriptor.
 * @throws (as the stream's error) ClientError DIGEST_MISMATCH | SIZE_MISMATCH | RegistryClientError BLOB_UNKNOWN
 */
export function fetchBlob(client: RegistryClient, repo: Repo, desc: Descriptor, options: CallOptions = {}): Readable {
  const source = rangeStream(client, repo, desc, 0, desc.size, options);
  const verifier = new Verifier(desc.digest, desc.size, `blob ${desc.digest} of ${repo.registry}/${repo.repository}`);
  async function* verified(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      verifier.update(chunk);
      yield chunk;
    }
    verifier.finish();
  }
  return Readable.from(verified(), { objectMode: false });
}
