/**
 * The writer of one append to a chunked object on S3 (see s3-chunked.ts): it cuts the append's bytes
 * into the session's multipart parts as they come, part sizes from {@link partSizeAt}, with at most
 * (2 + 1) parts of at most 16 MiB (1 + 1 above) in memory.
 */
import type { Piece } from './multipart-plan.js';
import { S3_MIN_PART } from './multipart-plan.js';
import type { ChunkedObjects, Position, Upload } from './s3-chunked.js';

/** What an append stored: up to `end`, its parts, and its tail (the bytes after its parts). */
export interface Recordable {
  end: number;
  tag?: string;
  parts: { number: number; etag: string }[];
  tail: Buffer[];
}

/**
 * Cuts an append's bytes into parts as they come (the earlier tails in front of the first), up to two
 * part uploads in flight while the next part fills (one when parts are over 16 MiB); what is left at the
 * end becomes the tail, or a last part of its own when it holds at least half a part and S3's 5 MiB.
 */
export class PartWriter {
  #upload: Upload | undefined;
  /** where the part being filled starts */
  #start: number;
  #nextPart: number;
  #pending: Piece[];
  #pendingBytes: number;
  #buffer: Buffer[] = [];
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

  /** Takes `chunk`, uploading each part once it is full; waits while two part uploads are in flight. */
  async write(chunk: Buffer): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    let rest = chunk;
    while (rest.length > 0) {
      const partSize = this.objects.partSize(this.#start);
      const take = rest.subarray(0, partSize - this.#pendingBytes - this.#buffered);
      this.#buffer.push(take);
      this.#buffered += take.length;
      rest = rest.subarray(take.length);
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
    const body = [...(this.#pendingBytes > 0 ? await this.objects.readPending(this.path, this.#pending) : []), ...this.#buffer];
    const size = this.#pendingBytes + this.#buffered;
    this.#upload ??= await this.objects.newUpload(this.path);
    const upload = this.#upload;
    this.#start += size;
    const part = { number: this.#nextPart++, etag: '', end: this.#start };
    this.#done.push(part);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#buffer = [];
    this.#buffered = 0;
    const flying = this.objects.uploadPart(this.path, upload, part.number, body, this.signal).then(
      (etag) => void (part.etag = etag),
      (err: unknown) => void (this.#failed ??= err),
    );
    this.#flight.push(flying);
    if (this.#flight.length >= (size <= 16 * 1024 * 1024 ? 2 : 1)) await this.#flight.shift();
    if (this.#failed !== undefined) throw this.#failed;
  }

  /**
   * What to record once the uploads settled: after success everything (the parts, and the tail up to
   * the end); after a failure only the parts stored in order before the first that failed, and no tail.
   * A record's end past its start means it holds bytes of its own.
   */
  recordable(failed: boolean): Recordable {
    const tag = this.#upload?.tag;
    if (!failed) return { end: this.#start + this.#pendingBytes + this.#buffered, tag, parts: this.#done, tail: this.#buffer };
    const stored = [];
    for (const p of this.#done) {
      if (!p.etag) break;
      stored.push(p);
    }
    return { end: stored.at(-1)?.end ?? 0, tag, parts: stored, tail: [] };
  }
}
