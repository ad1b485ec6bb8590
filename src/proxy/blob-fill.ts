/**
 * One blob on its way from an upstream into the cache, shared by every client that asks for it
 * meanwhile (single flight). The upstream's body flows into an upload session of the cache
 * repository (the same sessions, digest check and garbage collection protocol as a push: nothing is
 * visible before its digest verified) and, as it arrives, into a window of the most recent bytes
 * in memory that the clients read from, each at its own pace ({@link FillIntake}, {@link FillWindow}):
 *
 * - time to first byte is the upstream's: a client gets bytes as soon as they arrived;
 * - the fetch is detached from the clients (its own timeout, `proxy.filltimeout`): a client that goes
 *   away stops only its own stream; the fill goes on for the others and for the cache
 *   (Distribution's detached cache write; its tee stops with the first client, and a second client
 *   fetches again uncached, distribution PR #4664);
 * - the upstream is read at the pace of the fastest client ({@link FillPacer});
 * - a client that falls behind the window (or joins late) waits for the commit and reads the rest
 *   from storage, so a slow client never holds bytes in memory or slows the others;
 * - the last byte is held back until the bytes verified against the digest (the hash kept while they
 *   were written; the commit follows): a client never receives a whole body that did not verify (a
 *   cut or wrong upstream body ends every stream with an error instead);
 * - a body cut halfway is resumed with ranged GETs (the client's `rangeStream`), within its retries.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { rangeStream } from '../client/index.js';
import type { Digest, ParsedDigest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/reference.js';
import type { Registry } from '../registry/registry.js';
import { DestinationWatch } from '../storage/destination-watch.js';
import { BlockHasher } from './block-hasher.js';
import { deferred, type Deferred } from './deferred.js';
import { FillIntake } from './fill-intake.js';
import { FillPacer } from './fill-pacer.js';
import { FillWindow } from './fill-window.js';
import type { Upstream } from './upstream.js';

/** Bytes of the most recent part of a blob kept in memory per fill (16 MiB; at most `maxconnections` fills per upstream run at once). */
export const FILL_WINDOW_BYTES = 16 * 1024 * 1024;

/** Bytes the hashing worker may lag behind the upstream before the upstream waits for it (it resumes at half). */
export const HASH_BACKLOG_BYTES = 8 * 1024 * 1024;

/**
 * Bytes the storage may gather into one write (the filesystem's write stream): at its default 1 MiB
 * a loaded machine's thread pool turned each write into a wait, and the upstream paused for the
 * storage 150 to 200 times per 200 MiB (0.4 to 1.8 s of a 1.5 to 3 s cold pull); at 8 MiB, 1 to 17 times.
 */
export const STORE_WRITE_BYTES = 8 * 1024 * 1024;

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
  readonly #window: FillWindow;
  readonly #pacer: FillPacer;
  /** the sha256 of the bytes, on a worker thread (undefined for another algorithm: the commit then hashes them) */
  readonly #hasher: BlockHasher | undefined;
  #intake: FillIntake | undefined;
  #state: 'fetching' | 'committed' | 'failed' = 'fetching';
  /** the bytes received verified against the digest (the commit may still be under way) */
  #verified = false;
  #error: unknown;
  #tick = deferred();
  #tickScheduled = false;

  private constructor(spec: FillSpec) {
    this.#spec = spec;
    const windowBytes = spec.windowBytes ?? FILL_WINDOW_BYTES;
    const hasher = spec.digest.algorithm === 'sha256' ? new BlockHasher() : undefined;
    this.#hasher = hasher;
    this.#window = new FillWindow(windowBytes, hasher && ((bytes, done) => this.#hash(hasher, bytes, done)));
    const fill = { received: () => this.#window.received, fetching: () => this.#state === 'fetching' };
    this.#pacer = new FillPacer(fill, windowBytes, Date.now() + spec.timeoutMs / 2, (behind) => this.#intake?.clientsBehind(behind));
    const ready = deferred();
    this.ready = ready.promise;
    this.done = this.#run(ready).then(
      () => this.#settle('committed'),
      (err: unknown) => {
        this.#error = err;
        this.#hasher?.discard();
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
   * ends it; call after {@link ready}. Bytes in the window are written from memory as slices of its
   * blocks (corked into one vectored write: no copy), with `dest`'s back-pressure; the upstream waits
   * for the fastest client (it never falls behind the window), the others go at their own pace, and a
   * client behind the window waits for the commit and gets the rest as a stored blob is sent (the
   * storage's direct send: reused buffers on the filesystem).
   * @throws the fill's error, or `ERR_STREAM_PREMATURE_CLOSE` when `dest` closes first; `dest` is then
   *   destroyed (its client sees a cut body, never a clean end)
   */
  async sendTo(dest: Writable, offset = 0, end?: number): Promise<void> {
    const watch = new DestinationWatch(dest, 'the client closed the connection before the whole blob was sent');
    const reader = this.#pacer.join(offset);
    try {
      await watch.run(async () => {
        for (;;) {
          const stop = end ?? this.size ?? Infinity;
          const received = this.#window.received;
          if (reader.position >= stop || (this.#state === 'committed' && reader.position >= received)) break;
          if (this.#state === 'failed') throw this.#error;
          if (reader.position < this.#window.first || this.#state === 'committed') {
            // behind the window, or the window is gone: the rest is sent from storage once committed
            this.#pacer.leave(reader);
            await watch.until(this.done);
            const last = end ?? this.size!;
            watch.release();
            await this.#spec.registry.blobs.send(this.#spec.digest.digest, { offset: reader.position, length: last - reader.position }, dest);
            return;
          }
          // hold the last byte back until the digest verified (with a known size; without one the stream's end is the signal)
          const whole = this.#verified || this.size === undefined;
          const limit = Math.min(stop, whole ? received : Math.min(received, this.size! - 1), reader.position + YIELD_BYTES);
          if (reader.position >= limit) {
            await watch.until(this.#tick.promise);
            continue;
          }
          const room = this.#window.write(dest, reader.position, limit);
          reader.position = limit;
          this.#pacer.pace();
          if (!room) await watch.until(once(dest, 'drain'));
        }
        await watch.end();
      });
    } finally {
      this.#pacer.leave(reader);
    }
  }

  /** A chunk of `bytes` arrived: the clients are woken once per turn of the event loop, for all the chunks it read. */
  #arrived(bytes: number): void {
    this.#spec.onBytes?.(bytes);
    this.#pacer.pace();
    if (!this.#tickScheduled) {
      this.#tickScheduled = true;
      setImmediate(() => {
        this.#tickScheduled = false;
        this.#notify();
      });
    }
  }

  /** Hands a full block to the hasher; the upstream waits while the hasher lags {@link HASH_BACKLOG_BYTES} behind. */
  #hash(hasher: BlockHasher, bytes: Buffer, done: () => void): void {
    hasher.update(bytes, () => {
      done();
      if (hasher.pending <= HASH_BACKLOG_BYTES / 2) this.#intake?.hashBehind(false);
    });
    if (hasher.pending > HASH_BACKLOG_BYTES) this.#intake?.hashBehind(true);
  }

  /** The bytes received hash to the digest: the clients may have the last byte before the commit is written. */
  #verify(): void {
    this.#verified = true;
    this.size ??= this.#window.received;
    this.#notify();
  }

  #settle(state: 'committed' | 'failed'): void {
    this.#state = state;
    if (state === 'committed') this.size ??= this.#window.received;
    this.#pacer.stop();
    this.#window.clear();
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
    const size = (this.size = first.size);
    ready.resolve();
    let session: Awaited<typeof creating>;
    try {
      session = await creating;
    } catch (err) {
      first.body.destroy();
      throw err;
    }
    const repo = upstream.repo(remote);
    const hasher = this.#hasher;
    let hashed: Promise<Digest> | undefined;
    this.#intake = new FillIntake({
      window: this.#window,
      size,
      signal,
      arrived: (bytes) => this.#arrived(bytes),
      store: (disk) => registry.uploads.append(cache, session.id, disk, undefined, signal, { unhashed: hasher !== undefined, writeBuffer: STORE_WRITE_BYTES }),
      resume: (at) => rangeStream(upstream.client, repo, { mediaType: 'application/octet-stream', digest: digest.digest, size: size! }, at, size! - at, { signal }),
      cut: (at, err) => this.#spec.logger?.info({ upstream: upstream.name, digest: digest.digest, at, err: err.message }, 'upstream blob body cut: resuming with a ranged GET'),
      // every byte arrived: the clients get the last one as soon as the hash agrees, the storage may still be writing
      complete: () => {
        if (!hasher) return;
        this.#window.seal();
        hashed = hasher.digest();
        hashed.then(
          (got) => {
            if (got === digest.digest && (size === undefined || this.#window.received === size)) this.#verify();
          },
          () => undefined,
        );
      },
    });
    this.#intake.clientsBehind(this.#pacer.behind);
    try {
      await this.#intake.run(first.body);
      const received = this.#window.received;
      if (size !== undefined && received !== size) throw new Error(`the upstream sent ${received} of ${size} bytes`);
      const got = hasher ? await hashed! : undefined;
      if (got !== undefined && got !== digest.digest) throw new Error(`the upstream sent bytes whose digest is ${got}, not ${digest.digest}`);
      await registry.uploads.commit(cache, session.id, digest, undefined, undefined, undefined, got ? { size: received } : undefined);
    } catch (err) {
      await registry.uploads.cancel(cache, session.id).catch(() => undefined);
      throw err;
    }
  }
}
