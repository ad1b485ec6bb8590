/**
 * Blob pulls that survive a cut: a body that breaks mid-blob is re-requested with `Range` from the
 * first byte not yet received (RFC 9110 section 14.2), up to `retry.retries` times without
 * progress, and at most {@link resumeBudget} times in all (a registry that cuts every answer after a
 * few bytes would otherwise be asked again for ever, each cut counting as progress). {@link rangeStream} gives a byte range (what parallel pulls, copies and resumed uploads
 * read); {@link fetchBlob} gives the whole blob, verified against its descriptor's digest and size.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Descriptor } from '../oci/manifest.js';
import { ClientError } from './errors.js';
import type { CallOptions, Repo, RegistryClient } from './registry-client.js';
import { isRetryable, retryDelay } from './retry.js';
import { Verifier } from './streams.js';

/** Bytes a {@link rangeStream} buffers before it pauses its response (four of the 64 KiB reads that come in). */
const RANGE_BUFFER = 256 * 1024;

/** Resumes a {@link rangeStream} may make in all: 8, plus one per 32 MiB of its length (650 for 20 GiB). */
export function resumeBudget(length: number): number {
  return 8 + Math.floor(length / (32 * 1024 * 1024));
}

/**
 * The bytes `[offset, offset + length)` of blob `desc` in `repo`, as one stream that resumes cuts
 * with ranged GETs. Not verified (a range cannot be): verify the whole where it is assembled.
 * The response's chunks are handed on as they arrive (its body flows; it is paused only while
 * {@link RANGE_BUFFER} bytes wait for the reader): no async iteration per chunk and no
 * stop-and-start of the socket per 64 KiB read, which a copy pays on every byte of every layer.
 * The GET starts on the first read.
 * @throws (as the stream's error) RegistryClientError | ClientError PROTOCOL when the registry sends too much
 */
export function rangeStream(client: RegistryClient, repo: Repo, desc: Descriptor, offset: number, length: number, options: CallOptions = {}): Readable {
  const end = offset + length;
  let position = offset;
  let body: Readable | undefined;
  let started = false;
  const out = new Readable({
    highWaterMark: RANGE_BUFFER,
    read() {
      if (!started) {
        started = true;
        pump().then(
          () => out.push(null),
          (err: unknown) => out.destroy(err as Error),
        );
      } else body?.resume();
    },
    destroy(err, done) {
      body?.destroy();
      done(err);
    },
  });

  /** Streams one response into `out` until its end; rejects on a cut, an error or too many bytes. */
  const forward = (res: Readable): Promise<void> =>
    new Promise<void>((done, fail) => {
      body = res;
      res.on('data', (chunk: Buffer) => {
        if (position + chunk.length > end) {
          res.destroy();
          fail(new ClientError('SIZE_MISMATCH', `blob ${desc.digest} of ${repo.repository}: the registry sent more than the ${desc.size} bytes its descriptor says`));
          return;
        }
        position += chunk.length;
        if (!out.push(chunk)) res.pause();
      });
      res.once('end', () => (position < end ? fail(new CutError(`blob ${desc.digest}: the body ended at byte ${position} of ${end}`)) : done()));
      res.once('error', fail);
      res.once('close', () => {
        if (!res.readableEnded) fail(out.destroyed ? new Error('read no further') : new CutError(`blob ${desc.digest}: the body closed at byte ${position} of ${end}`));
      });
    });

  async function pump(): Promise<void> {
    let stalled = 0;
    let resumes = 0;
    while (position < end && !out.destroyed) {
      const before = position;
      try {
        const whole = position === 0 && end === desc.size;
        const res = await client.blobResponse(repo, desc.digest, whole ? { signal: options.signal } : { offset: position, length: end - position, signal: options.signal });
        if (out.destroyed) {
          res.body.destroy();
          return;
        }
        await forward(res.body);
      } catch (err) {
        if (out.destroyed) return;
        if (options.signal?.aborted || !(err instanceof CutError || isRetryable(err) || !(err instanceof ClientError))) throw err;
        stalled = position > before ? 0 : stalled + 1;
        if (stalled > client.retry.retries) throw err;
        if (++resumes > resumeBudget(length)) {
          throw new ClientError('PROTOCOL', `blob ${desc.digest} of ${repo.repository}: the body was cut ${resumes} times (last: ${(err as Error).message}); giving up`);
        }
        await sleep(retryDelay(client.retry, stalled, err), undefined, { signal: options.signal });
      }
    }
  }
  return out;
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
