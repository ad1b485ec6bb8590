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
 * - the upstream is read at the pace of the fastest client (Distribution's tee reads at its one
 *   client's pace), so a client as fast as the upstream never falls behind the window; a fill whose
 *   clients all stop reading for 2 s goes on at the upstream's pace;
 * - a client that falls behind the window (or joins late) waits for the commit and reads the rest
 *   from storage, so a slow client never holds bytes in memory or slows the others;
 * - the last byte is held back until the bytes verified against the digest (the hash kept while they
 *   were written; the commit follows): a client never receives a whole body that did not verify (a
 *   cut or wrong upstream body ends every stream with an error instead);
 * - a body cut halfway is resumed with ranged GETs (the client's `rangeStream`), within its retries.
 */
import { once } from 'node:events';
import { finished, Readable, type Writable } from 'node:stream';
import type { Logger } from 'pino';
import { rangeStream } from '../client/index.js';
import type { ParsedDigest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/reference.js';
import type { Registry } from '../registry/registry.js';
import { DestinationWatch } from '../storage/destination-watch.js';
import { FillWindow } from './fill-window.js';
import type { Upstream } from './upstream.js';

/** Bytes of the most recent part of a blob kept in memory per fill (16 MiB; at most `maxconnections` fills per upstream run at once). */
export const FILL_WINDOW_BYTES = 16 * 1024 * 1024;

/** Bytes read ahead from the upstream while storage writes are under way (the upstream and the disk work at once). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** The most a client's send gathers from the window into one vectored write (fewer, larger socket writes). */
const YIELD_BYTES = 1024 * 1024;

/** ms the upstream may wait for the fastest client before the fill stops waiting for its clients. */
const PACE_STALL_MS = 2000;

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

/** A client's place in the blob, for pacing the upstream. */
interface Reader {
  position: number;
  /** counted for pacing (false once the fill stopped waiting for it) */
  paced: boolean;
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
  readonly #window: FillWindow;
  readonly #readers = new Set<Reader>();
  #state: 'fetching' | 'committed' | 'failed' = 'fetching';
  /** the bytes received verified against the digest (the commit may still be under way) */
  #verified = false;
  #error: unknown;
  #tick = deferred();
  #tickScheduled = false;
  /** the upstream body being read, paused while the storage or the fastest client is behind */
  #body: Readable | undefined;
  #storageBehind = false;
  #clientsBehind = false;
  #stall: NodeJS.Timeout | undefined;
  /** after this time (ms since the epoch) the fill no longer waits for its clients (its timeout nears) */
  readonly #paceUntil: number;

  private constructor(spec: FillSpec) {
    this.#spec = spec;
    this.#windowBytes = spec.windowBytes ?? FILL_WINDOW_BYTES;
    this.#window = new FillWindow(this.#windowBytes);
    this.#paceUntil = Date.now() + spec.timeoutMs / 2;
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
    const { gone } = watch;
    const reader: Reader = { position: offset, paced: true };
    this.#readers.add(reader);
    try {
      await watch.run(async () => {
        for (;;) {
          const stop = end ?? this.size ?? Infinity;
          const received = this.#window.received;
          if (reader.position >= stop || (this.#state === 'committed' && reader.position >= received)) break;
          if (this.#state === 'failed') throw this.#error;
          if (reader.position < this.#window.first || this.#state === 'committed') {
            // behind the window, or the window is gone: the rest is sent from storage once committed
            this.#leave(reader);
            await Promise.race([this.done, gone]);
            const last = end ?? this.size!;
            watch.release();
            await this.#spec.registry.blobs.send(this.#spec.digest.digest, { offset: reader.position, length: last - reader.position }, dest);
            return;
          }
          // hold the last byte back until the digest verified (with a known size; without one the stream's end is the signal)
          const whole = this.#verified || this.size === undefined;
          const limit = Math.min(stop, whole ? received : Math.min(received, this.size! - 1), reader.position + YIELD_BYTES);
          if (reader.position >= limit) {
            await Promise.race([this.#tick.promise, gone]);
            continue;
          }
          const room = this.#window.write(dest, reader.position, limit);
          reader.position = limit;
          this.#pace();
          if (!room) await Promise.race([once(dest, 'drain'), gone]);
        }
        await watch.end();
      });
    } finally {
      this.#leave(reader);
    }
  }

  #leave(reader: Reader): void {
    if (this.#readers.delete(reader)) this.#pace();
  }

  /** Pauses the upstream while every paced client is half a window or more behind it; gives up on them after {@link PACE_STALL_MS}. */
  #pace(): void {
    let lead = -1;
    for (const r of this.#readers) if (r.paced && r.position > lead) lead = r.position;
    const gap = this.#window.received - lead;
    const behind = lead >= 0 && this.#state === 'fetching' && Date.now() < this.#paceUntil && gap >= (this.#clientsBehind ? this.#windowBytes / 4 : this.#windowBytes / 2);
    if (behind === this.#clientsBehind) return;
    this.#clientsBehind = behind;
    clearTimeout(this.#stall);
    if (behind) {
      this.#stall = setTimeout(() => {
        for (const r of this.#readers) r.paced = false;
        this.#pace();
      }, PACE_STALL_MS);
      this.#stall.unref();
    }
    this.#flow();
  }

  /** Pauses or resumes the upstream body. */
  #flow(): void {
    const body = this.#body;
    if (!body) return;
    if (this.#storageBehind || this.#clientsBehind) body.pause();
    else if (body.isPaused()) body.resume();
  }

  #accept(chunk: Buffer, disk: Readable): void {
    if (this.size !== undefined && this.#window.received + chunk.length > this.size) throw new Error(`the upstream sent more than the ${this.size} bytes it announced`);
    this.#window.append(chunk);
    if (!disk.push(chunk)) {
      this.#storageBehind = true;
      this.#flow();
    }
    this.#spec.onBytes?.(chunk.length);
    this.#pace();
    // the clients are woken once per turn of the event loop, for all the chunks it read
    if (!this.#tickScheduled) {
      this.#tickScheduled = true;
      setImmediate(() => {
        this.#tickScheduled = false;
        this.#notify();
      });
    }
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
    clearTimeout(this.#stall);
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
      await this.#store(first.body, session.id, signal);
      const received = this.#window.received;
      if (this.size !== undefined && received !== this.size) throw new Error(`the upstream sent ${received} of ${this.size} bytes`);
      const hashed = registry.uploads.runningDigest(session.id, received);
      if (hashed !== undefined && hashed !== digest.digest) throw new Error(`the upstream sent bytes whose digest is ${hashed}, not ${digest.digest}`);
      if (hashed !== undefined) this.#verify();
      await registry.uploads.commit(cache, session.id, digest);
    } catch (err) {
      await registry.uploads.cancel(cache, session.id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Reads the upstream's body into the window and the upload session at once (one pass: each chunk
   * copied into the window and handed to storage as it is), resumed with ranged GETs when it is cut
   * (and the size is known).
   */
  async #store(body: Readable, session: string, signal: AbortSignal): Promise<void> {
    const { upstream, remote, cache, digest, registry } = this.#spec;
    const disk = new Readable({
      highWaterMark: READ_AHEAD_BYTES,
      read: () => {
        this.#storageBehind = false;
        this.#flow();
      },
    });
    const storing = registry.uploads.append(cache, session, disk, undefined, signal);
    storing.catch((err: unknown) => this.#body?.destroy(err as Error));
    try {
      try {
        await this.#read(body, disk);
      } catch (err) {
        if (this.size === undefined || signal.aborted) throw err;
        this.#spec.logger?.info({ upstream: upstream.name, digest: digest.digest, at: this.#window.received, err: (err as Error).message }, 'upstream blob body cut: resuming with a ranged GET');
      }
      const size = this.size;
      if (size !== undefined && this.#window.received < size) {
        const at = this.#window.received;
        await this.#read(rangeStream(upstream.client, upstream.repo(remote), { mediaType: 'application/octet-stream', digest: digest.digest, size }, at, size - at, { signal }), disk);
      }
      disk.push(null);
    } catch (err) {
      disk.destroy(err as Error);
      await storing.catch(() => undefined);
      throw err;
    }
    await storing;
  }

  /** Reads `body` to its end through {@link accept}, paused and resumed by {@link flow}. */
  #read(body: Readable, disk: Readable): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#body = body;
      body.on('data', (chunk: Buffer) => {
        try {
          this.#accept(chunk, disk);
        } catch (err) {
          body.destroy(err as Error);
        }
      });
      finished(body, (err) => {
        this.#body = undefined;
        if (err) reject(err);
        else resolve();
      });
      this.#flow();
    });
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
