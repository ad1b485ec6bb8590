/**
 * The writer of one append to a chunked object on S3 (see s3-chunked.ts): it cuts the append's bytes
 * into the session's multipart parts as they come, part sizes from {@link partSizeAt}, with ONE part in
 * memory: a part uploads while the append waits (back-pressure on the request), then its memory fills
 * the next part. The bytes are copied into 1 MiB slabs that every append of the process reuses
 * ({@link SlabPool}): a request body's chunks are freed once copied (s3-chunked.ts) instead of living as
 * long as a part upload, and since parts grow with the upload (32 MiB at 20 GiB), slabs of one size
 * serve every part size. (Whole-part buffers, reused only at the same size, left an idle buffer of an
 * earlier size and the garbage of the last part beside the part uploading: 199 MiB peak on a 20 GiB push.)
 */
import { freeBuffer } from './free-buffer.js';
import type { Piece } from './multipart-plan.js';
import { S3_MIN_PART } from './multipart-plan.js';
import type { ChunkedObjects, Upload } from './s3-chunked.js';
import type { Position } from './s3-records.js';

/** Bytes of one slab of a part. */
export const SLAB_BYTES = 1024 * 1024;
/** Bytes of idle slabs the process keeps between appends (the rest is left to the garbage collector). */
const KEPT_BYTES = 16 * 1024 * 1024;
/** Milliseconds without an open append after which the idle slabs are dropped too (a registry that stopped receiving pushes). */
const IDLE_DROP_MS = 2000;

/**
 * Slabs of {@link SLAB_BYTES} reused across parts and appends. While appends are open, every slab given
 * back is kept for the next part (so parts of any size reuse the slabs of the part before: no garbage);
 * when the last append closes, idle slabs beyond {@link KEPT_BYTES} are dropped, and the rest
 * {@link IDLE_DROP_MS} later unless an append opened meanwhile (a push of several layers keeps them).
 * A dropped slab's memory is freed at once ({@link freeBuffer}): slabs live long enough to be in the
 * old generation, where they waited for a full collection (10-11 MiB per push beside the next push's
 * fresh slabs).
 */
export class SlabPool {
  readonly #idle: Buffer[] = [];
  #open = 0;
  #inUse = 0;
  #dropTimer: NodeJS.Timeout | undefined;
  /** slabs allocated so far */
  allocated = 0;
  /** the most slabs in use (taken, not given back) at one time so far */
  peakInUse = 0;

  /** An append starts taking slabs. */
  open(): void {
    this.#open++;
    clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
  }

  /** An append took its last slab and gave every one back. */
  close(): void {
    if (--this.#open > 0) return;
    this.#drop(KEPT_BYTES / SLAB_BYTES);
    this.#dropTimer = setTimeout(() => {
      if (this.#open === 0) this.#drop(0);
    }, IDLE_DROP_MS).unref();
  }

  /** Drops idle slabs beyond the first `kept`, their memory freed (they were given back after their part's upload succeeded: no socket holds them). */
  #drop(kept: number): void {
    for (const slab of this.#idle.splice(kept)) freeBuffer(slab);
  }

  /** Idle slabs kept for the next part. */
  get idle(): number {
    return this.#idle.length;
  }

  /** A slab (content undefined). */
  take(): Buffer {
    this.peakInUse = Math.max(this.peakInUse, ++this.#inUse);
    const slab = this.#idle.pop();
    if (slab) return slab;
    this.allocated++;
    return Buffer.allocUnsafeSlow(SLAB_BYTES);
  }

  /** Returns `slabs` (no longer referenced by their user) for reuse; `reusable` false: only counts them back (someone may still read them). */
  give(slabs: readonly Buffer[], reusable = true): void {
    this.#inUse -= slabs.length;
    if (!reusable) return;
    for (const slab of slabs) {
      if (this.#open > 0 || (this.#idle.length + 1) * SLAB_BYTES <= KEPT_BYTES) this.#idle.push(slab);
      else freeBuffer(slab);
    }
  }
}

/** The slabs of every append of this process. */
export const slabPool = new SlabPool();

/** What an append stored: up to `end`, its parts, and its tail (the bytes after its parts). */
export interface Recordable {
  end: number;
  tag?: string;
  parts: { number: number; etag: string }[];
  tail: Buffer[];
}

/**
 * Cuts an append's bytes into parts as they come (the earlier tails in front of the first), one part
 * upload in flight while the next part fills; what is left at the end becomes the tail, or a last part of its own when it holds at least half a part and S3's 5 MiB.
 */
export class PartWriter {
  #upload: Upload | undefined;
  /** where the part being filled starts */
  #start: number;
  #nextPart: number;
  #pending: Piece[];
  #pendingBytes: number;
  /** the part being filled (this append's bytes of it, in order), slabs from {@link slabPool}; the last one filling */
  #slabs: Buffer[] = [];
  /** bytes in the last slab */
  #inSlab = SLAB_BYTES;
  /** whether this writer opened {@link slabPool} (at its first slab; closed by {@link release}) */
  #opened = false;
  #buffered = 0;
  #done: { number: number; etag: string; end: number }[] = [];
  #flight: Promise<void>[] = [];
  #failed: unknown;

  constructor(
    private readonly objects: ChunkedObjects,
    private readonly path: string,
    at: Position,
    private readonly signal?: AbortSignal,
  ) {
    this.#start = at.partsEnd;
    this.#nextPart = at.nextPart;
    this.#pending = at.pending;
    this.#pendingBytes = at.size - at.partsEnd;
  }

  /** Continues the parts of `upload` (the session has one). */
  useUpload(upload: Upload): void {
    this.#upload = upload;
  }

  /** Takes `chunk`, uploading each part once it is full; waits while a part upload is in flight. */
  async write(chunk: Buffer): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    let rest = chunk;
    while (rest.length > 0) {
      const partSize = this.objects.partSize(this.#start);
      if (this.#inSlab === SLAB_BYTES) {
        if (!this.#opened) slabPool.open();
        this.#opened = true;
        this.#slabs.push(slabPool.take());
        this.#inSlab = 0;
      }
      const room = Math.min(SLAB_BYTES - this.#inSlab, partSize - this.#pendingBytes - this.#buffered);
      const taken = rest.copy(this.#slabs.at(-1)!, this.#inSlab, 0, Math.min(rest.length, room));
      this.#inSlab += taken;
      this.#buffered += taken;
      rest = rest.subarray(taken);
      if (this.#pendingBytes + this.#buffered === partSize) await this.flush();
    }
  }

  /** Uploads the rest as a part when it holds half a part (and 5 MiB), then waits for every upload. */
  async end(): Promise<void> {
    const size = this.#pendingBytes + this.#buffered;
    if (this.#buffered > 0 && size >= Math.max(S3_MIN_PART, this.objects.partSize(this.#start) / 2)) await this.flush();
    await this.settle();
    if (this.#failed !== undefined) throw this.#failed;
  }

  /** Waits for the part uploads in flight. */
  async settle(): Promise<void> {
    await Promise.all(this.#flight);
  }

  /** This append's bytes of the part being filled: views of its slabs. */
  private filled(): Buffer[] {
    return this.#slabs.map((slab, i) => (i === this.#slabs.length - 1 ? slab.subarray(0, this.#inSlab) : slab));
  }

  private async flush(): Promise<void> {
    const slabs = this.#slabs;
    const body = [...(this.#pendingBytes > 0 ? await this.objects.readPending(this.path, this.#pending) : []), ...this.filled()];
    const size = this.#pendingBytes + this.#buffered;
    this.#upload ??= await this.objects.newUpload(this.path);
    const upload = this.#upload;
    this.#start += size;
    const part = { number: this.#nextPart++, etag: '', end: this.#start };
    this.#done.push(part);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#slabs = [];
    this.#inSlab = SLAB_BYTES;
    this.#buffered = 0;
    const flying = this.objects
      .uploadPart(this.path, upload, part.number, body, this.signal)
      .then(
        (etag) => {
          part.etag = etag;
          slabPool.give(slabs);
        },
        (err: unknown) => {
          this.#failed ??= err;
          // the failed request's socket may still hold writes of them: left to the garbage collector
          slabPool.give(slabs, false);
        },
      );
    this.#flight.push(flying);
    if (this.#flight.length >= 1) await this.#flight.shift();
    if (this.#failed !== undefined) throw this.#failed;
  }

  /**
   * What to record once the uploads settled: after success everything (the parts, and the tail up to
   * the end); after a failure only the parts stored in order before the first that failed, and no tail.
   * A record's end past its start means it holds bytes of its own.
   */
  recordable(failed: boolean): Recordable {
    const tag = this.#upload?.tag;
    if (!failed) {
      const tail = this.filled();
      return { end: this.#start + this.#pendingBytes + this.#buffered, tag, parts: this.#done, tail };
    }
    const stored = [];
    for (const p of this.#done) {
      if (!p.etag) break;
      stored.push(p);
    }
    return { end: stored.at(-1)?.end ?? 0, tag, parts: stored, tail: [] };
  }

  /** Gives the slabs back for reuse (after the tail was stored: {@link recordable}'s tail is a view of them). */
  release(): void {
    slabPool.give(this.#slabs);
    this.#slabs = [];
    this.#inSlab = SLAB_BYTES;
    if (this.#opened) slabPool.close();
    this.#opened = false;
  }
}
