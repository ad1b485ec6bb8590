/**
 * The writer of one append to a chunked object on S3 (see s3-chunked.ts): it cuts the append's bytes
 * into the session's multipart parts as they come, part sizes from {@link partSizeAt}, with at most
 * two parts in memory: one uploading while the next fills (two in flight left ~20 MiB more peak RSS
 * after a 256 MiB push on RGW). The bytes are copied into part buffers that
 * the process reuses ({@link PartBuffers}): a request body's chunks die young (freed by V8's scavenges)
 * instead of living as long as a part upload, which let a 256 MiB push leave ~90 MiB more resident.
 */
import type { Piece } from './multipart-plan.js';
import { S3_MIN_PART } from './multipart-plan.js';
import type { ChunkedObjects, Upload } from './s3-chunked.js';
import type { Position } from './s3-records.js';

/** Bytes of idle part buffers the process keeps for the next appends (three 10 MiB parts). */
const KEPT_BYTES = 30 * 1024 * 1024;

/** Part buffers reused across appends, so that a push does not take fresh memory for every part. */
class PartBuffers {
  readonly #idle: Buffer[] = [];
  #idleBytes = 0;

  /** A buffer of exactly `size` bytes (content undefined). */
  take(size: number): Buffer {
    const i = this.#idle.findIndex((b) => b.length === size);
    if (i < 0) return Buffer.allocUnsafeSlow(size);
    this.#idleBytes -= size;
    return this.#idle.splice(i, 1)[0]!;
  }

  /** Returns `buffer` (no longer referenced by its user) for reuse, within {@link KEPT_BYTES}. */
  give(buffer: Buffer): void {
    while (this.#idle.length > 0 && this.#idleBytes + buffer.length > KEPT_BYTES) this.#idleBytes -= this.#idle.shift()!.length;
    if (buffer.length > KEPT_BYTES) return;
    this.#idle.push(buffer);
    this.#idleBytes += buffer.length;
  }
}

const partBuffers = new PartBuffers();

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
  /** the part being filled (this append's bytes of it), from {@link partBuffers} */
  #part: Buffer | undefined;
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
      this.#part ??= partBuffers.take(partSize);
      const taken = rest.copy(this.#part, this.#buffered, 0, Math.min(rest.length, partSize - this.#pendingBytes - this.#buffered));
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

  private async flush(): Promise<void> {
    const buffer = this.#part!;
    const body = [...(this.#pendingBytes > 0 ? await this.objects.readPending(this.path, this.#pending) : []), buffer.subarray(0, this.#buffered)];
    const size = this.#pendingBytes + this.#buffered;
    this.#upload ??= await this.objects.newUpload(this.path);
    const upload = this.#upload;
    this.#start += size;
    const part = { number: this.#nextPart++, etag: '', end: this.#start };
    this.#done.push(part);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#part = undefined;
    this.#buffered = 0;
    const flying = this.objects
      .uploadPart(this.path, upload, part.number, body, this.signal)
      .then(
        (etag) => void (part.etag = etag),
        (err: unknown) => void (this.#failed ??= err),
      )
      .finally(() => partBuffers.give(buffer));
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
      const tail = this.#part ? [this.#part.subarray(0, this.#buffered)] : [];
      return { end: this.#start + this.#pendingBytes + this.#buffered, tag, parts: this.#done, tail };
    }
    const stored = [];
    for (const p of this.#done) {
      if (!p.etag) break;
      stored.push(p);
    }
    return { end: stored.at(-1)?.end ?? 0, tag, parts: stored, tail: [] };
  }

  /** Gives the part buffer back for reuse (after the tail was stored: {@link recordable}'s tail is a view of it). */
  release(): void {
    if (this.#part) partBuffers.give(this.#part);
    this.#part = undefined;
  }
}
