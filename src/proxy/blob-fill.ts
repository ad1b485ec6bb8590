/**
 * One blob on its way from an upstream into the cache, shared by every client that asks for it
 * meanwhile (single flight). The upstream's body flows into an upload session of the cache
 * repository (the same sessions, digest check and garbage collection protocol as a push: nothing is
 * visible before its digest verified) and, as it arrives, into a window of the most recent bytes
 * in memory that the clients read from, each at its own pace:
 *
 * - time to first byte is the upstream's: a client gets bytes as soon as they arrived;
 * - the fetch is detached from the clients (its own timeout, `proxy.filltimeout`): a client that goes
 *   away stops only its own stream; the fill goes on for the others and for the cache
 *   (Distribution's detached cache write; its tee stops with the first client, and a second client
 *   fetches again uncached, distribution PR #4664);
 * - a client that falls behind the window (or joins late) waits for the commit and reads the rest
 *   from storage, so a slow client never holds bytes in memory or slows the others;
 * - the last byte is held back until the bytes verified against the digest (the hash kept while they
 *   were written; the commit follows): a client never receives a whole body that did not verify (a
 *   cut or wrong upstream body ends every stream with an error instead);
 * - a body cut halfway is resumed with ranged GETs (the client's `rangeStream`), within its retries.
 */
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import type { Logger } from 'pino';
import { rangeStream } from '../client/index.js';
import type { ParsedDigest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/reference.js';
import type { Registry } from '../registry/registry.js';
import { DestinationWatch } from '../storage/destination-watch.js';
import type { Upstream } from './upstream.js';

/** Bytes of the most recent part of a blob kept in memory per fill (16 MiB; at most `maxconnections` fills per upstream run at once). */
export const FILL_WINDOW_BYTES = 16 * 1024 * 1024;

/** Bytes read ahead from the upstream while storage writes are under way (the upstream and the disk work at once). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** The most a client's send gathers from the window into one vectored write (fewer, larger socket writes). */
const YIELD_BYTES = 1024 * 1024;

/** What a fill fetches and where it stores it. */
export interface FillSpec {
  upstream: Upstream;
  remote: RepositoryName;
  cache: RepositoryName;
  digest: ParsedDigest;
  registry: Registry;
  /** ms the whole fetch may take */
  timeoutMs: number;
  /** bytes kept in memory for the clients (default {@link FILL_WINDOW_BYTES}) */
  windowBytes?: number;
  /** called with every chunk's length as it arrives from the upstream */
  onBytes?: (bytes: number) => void;
  logger?: Logger;
}

/** A blob being fetched into the cache. */
export class BlobFill {
  /** the blob's size in bytes, once the upstream answered (undefined when it sent no Content-Length) */
  size: number | undefined;
  /** settles when the upstream answered: rejects with its error (404, refused, unreachable) */
  readonly ready: Promise<void>;
  /** settles when the blob is committed to the cache, or the fill failed */
  readonly done: Promise<void>;
  readonly #spec: FillSpec;
  readonly #windowBytes: number;
  #chunks: Buffer[] = [];
  #starts: number[] = [];
  #held = 0;
  #received = 0;
  #state: 'fetching' | 'committed' | 'failed' = 'fetching';
  /** the bytes received verified against the digest (the commit may still be under way) */
  #verified = false;
  #error: unknown;
  #tick = deferred();

  private constructor(spec: FillSpec) {
    this.#spec = spec;
    this.#windowBytes = spec.windowBytes ?? FILL_WINDOW_BYTES;
    const ready = deferred();
    this.ready = ready.promise;
    this.done = this.#run(ready).then(
      () => this.#settle('committed'),
      (err: unknown) => {
        this.#error = err;
        ready.reject(err);
        this.#settle('failed');
        throw err;
      },
    );
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /** Starts fetching `spec.digest` into `spec.cache`. */
  static start(spec: FillSpec): BlobFill {
    return new BlobFill(spec);
  }

  /** True while the bytes are still arriving. */
  get fetching(): boolean {
    return this.#state === 'fetching';
  }

  /**
   * Writes the bytes `[offset, end)` of the blob (to its end by default) to `dest` as they arrive, then
   * ends it; call after {@link ready}. Bytes in the window are written from memory as slices of the
   * upstream's chunks (corked into one vectored write: no copy), with `dest`'s back-pressure; a client
   * behind the window waits for the commit and gets the rest as a stored blob is sent (the storage's
   * direct send: reused buffers on the filesystem).
   * @throws the fill's error, or `ERR_STREAM_PREMATURE_CLOSE` when `dest` closes first; `dest` is then
   *   destroyed (its client sees a cut body, never a clean end)
   */
  async sendTo(dest: Writable, offset = 0, end?: number): Promise<void> {
    const watch = new DestinationWatch(dest, 'the client closed the connection before the whole blob was sent');
    const { gone } = watch;
    let position = offset;
    await watch.run(async () => {
      for (;;) {
        const stop = end ?? this.size ?? Infinity;
        if (position >= stop || (this.#state === 'committed' && position >= this.#received)) break;
        if (this.#state === 'failed') throw this.#error;
        const first = this.#starts[0] ?? this.#received;
        if (position < first || (this.#state === 'committed' && this.#chunks.length === 0)) {
          // behind the window, or the window is gone: the rest is sent from storage once committed
          await Promise.race([this.done, gone]);
          const last = end ?? this.size!;
          watch.release();
          await this.#spec.registry.blobs.send(this.#spec.digest.digest, { offset: position, length: last - position }, dest);
          return;
        }
        // hold the last byte back until the digest verified (with a known size; without one the stream's end is the signal)
        const whole = this.#verified || this.#state === 'committed' || this.size === undefined;
        const limit = Math.min(stop, whole ? this.#received : Math.min(this.#received, this.size! - 1));
        if (position >= limit) {
          await Promise.race([this.#tick.promise, gone]);
          continue;
        }
        // what has arrived, up to 1 MiB, in one vectored write instead of one write per upstream chunk
        let room = true;
        dest.cork();
        for (let bytes = 0; position < limit && bytes < YIELD_BYTES; ) {
          const piece = this.#slice(position, Math.min(limit, position + YIELD_BYTES - bytes));
          room = dest.write(piece);
          position += piece.length;
          bytes += piece.length;
        }
        dest.uncork();
        if (!room) await Promise.race([once(dest, 'drain'), gone]);
      }
      await watch.end();
    });
  }

  /** The window's bytes from `position` (inside the window), at most up to `limit`, without copying. */
  #slice(position: number, limit: number): Buffer {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    const chunk = this.#chunks[lo]!;
    const from = position - this.#starts[lo]!;
    return chunk.subarray(from, Math.min(chunk.length, from + limit - position));
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#starts.push(this.#received);
    this.#received += chunk.length;
    this.#held += chunk.length;
    while (this.#chunks.length > 1 && this.#held - this.#chunks[0]!.length >= this.#windowBytes) {
      this.#held -= this.#chunks.shift()!.length;
      this.#starts.shift();
    }
    this.#spec.onBytes?.(chunk.length);
    this.#notify();
  }

  /** The bytes received hash to the digest: the clients may have the last byte before the commit is written. */
  #verify(): void {
    this.#verified = true;
    this.size ??= this.#received;
    this.#notify();
  }

  #settle(state: 'committed' | 'failed'): void {
    this.#state = state;
    if (state === 'committed') this.size ??= this.#received;
    this.#chunks = [];
    this.#starts = [];
    this.#held = 0;
    this.#notify();
  }

  #notify(): void {
    const tick = this.#tick;
    this.#tick = deferred();
    tick.resolve();
  }

  /** Fetches, stores through an upload session, verifies, commits. */
  async #run(ready: Deferred): Promise<void> {
    const { upstream, remote, cache, digest, registry } = this.#spec;
    const signal = AbortSignal.timeout(this.#spec.timeoutMs);
    // the upload session is created while the upstream answers: its first bytes then flow at once
    const creating = registry.uploads.create(cache);
    creating.catch(() => undefined);
    let first: Awaited<ReturnType<Upstream['client']['blobResponse']>>;
    const answer = upstream.answerDeadline(signal);
    try {
      first = await upstream.client.blobResponse(upstream.repo(remote), digest.digest, { signal: answer.signal });
    } catch (err) {
      await creating.then((s) => registry.uploads.cancel(cache, s.id)).catch(() => undefined);
      throw err;
    } finally {
      answer.answered();
    }
    this.size = first.size;
    ready.resolve();
    let session: Awaited<typeof creating>;
    try {
      session = await creating;
    } catch (err) {
      first.body.destroy();
      throw err;
    }
    try {
      await registry.uploads.append(cache, session.id, Readable.from(this.#upstreamBytes(first.body, signal), { objectMode: false, highWaterMark: READ_AHEAD_BYTES }), undefined, signal);
      if (this.size !== undefined && this.#received !== this.size) throw new Error(`the upstream sent ${this.#received} of ${this.size} bytes`);
      const received = registry.uploads.runningDigest(session.id, this.#received);
      if (received !== undefined && received !== digest.digest) throw new Error(`the upstream sent bytes whose digest is ${received}, not ${digest.digest}`);
      if (received !== undefined) this.#verify();
      await registry.uploads.commit(cache, session.id, digest);
    } catch (err) {
      await registry.uploads.cancel(cache, session.id).catch(() => undefined);
      throw err;
    }
  }

  /** The upstream's body, resumed with ranged GETs when it is cut (and the size is known), each chunk recorded in the window. */
  async *#upstreamBytes(body: Readable, signal: AbortSignal): AsyncGenerator<Buffer> {
    const { upstream, remote, digest } = this.#spec;
    const size = this.size;
    const accept = (chunk: Buffer): Buffer => {
      if (size !== undefined && this.#received + chunk.length > size) throw new Error(`the upstream sent more than the ${size} bytes it announced`);
      this.#push(chunk);
      return chunk;
    };
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) yield accept(chunk);
    } catch (err) {
      if (size === undefined || signal.aborted) throw err;
      this.#spec.logger?.info({ upstream: upstream.name, digest: digest.digest, at: this.#received, err: (err as Error).message }, 'upstream blob body cut: resuming with a ranged GET');
    }
    if (size === undefined || this.#received >= size) return;
    const rest = rangeStream(upstream.client, upstream.repo(remote), { mediaType: 'application/octet-stream', digest: digest.digest, size }, this.#received, size - this.#received, { signal });
    for await (const chunk of rest as AsyncIterable<Buffer>) yield accept(chunk);
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
