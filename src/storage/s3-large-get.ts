/**
 * Large object reads on S3 with big socket reads: a GET of a presigned URL over a plain TCP connection
 * whose reads go into one 1 MiB buffer (`net.connect`'s `onread`), instead of the SDK's GetObject
 * stream, whose HTTP client (node:http, like undici) reads the socket 64 KiB at a time and runs a parser
 * callback, a stream push and, downstream, a socket write per 64 KiB.
 *
 * Measured on Ceph RGW on this 2-core machine (256 MiB object): receiving through the SDK or node:http
 * costs 0.55-1.3 CPU-seconds, through this reader 0.18-0.3 (docs/s3.md, "Reads").
 *
 * Scope, on purpose narrow: only answers that are `200`/`206` with a `Content-Length` of exactly the
 * bytes asked for are streamed here; anything else (an error status, chunked framing, a refused
 * connection, a slow header) rejects with {@link LargeGetFallback} before a byte was returned, and the
 * driver reads through the SDK instead (which retries and names the error). Plain `http:` endpoints
 * only (Ceph RGW, MinIO on a private network); `https:` stores read through the SDK.
 */
import { connect, type Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { HeadGatherer, parseResponseHead } from '../net/response-head.js';
import { sendDoubleBuffered, withSendBudget, type BufferFiller } from './double-buffered-send.js';
import { StorageUnavailableError } from './driver-errors.js';
import type { DirectSend } from './file-range-stream.js';
import type { Fillable } from './shared-sends.js';

/** Bytes one read from the store's socket takes at most. */
const READ_BYTES = 1024 * 1024;
/** Milliseconds to wait for the connection and the answer's headers. */
const HEAD_TIMEOUT_MS = 30_000;

/**
 * The one read buffer of every large GET: a callback copies its bytes out before it returns, and
 * callbacks never overlap (one thread), so sockets can share it.
 */
let readBuffer: Buffer | undefined;
/**
 * Bytes of the landing buffer, where a body's next read goes while no send buffer waits for bytes. A
 * socket's next read buffer is chosen after each read (`onread`'s buffer function; Node offers no public
 * way to change it while the socket is paused), so the first read after a pause lands here and is copied;
 * the next ones go straight into the send buffer. At most this much is copied per send buffer.
 */
const LANDING_BYTES = 16 * 1024;
let landing: Buffer | undefined;

/** Bytes of large GET bodies read so far: into a send buffer in place, or copied into one (tests and profiles). */
export const socketReads = { inPlace: 0, copied: 0 };

/** The answer could not be streamed here (see the module's comment): read through the SDK instead. */
export class LargeGetFallback extends Error {
  override readonly name = 'LargeGetFallback';
}

/** What to GET: a presigned URL, optionally bytes `[start, end]`, and the bytes expected. */
export interface LargeGet {
  url: URL;
  range?: { start: number; end: number };
  /** the bytes the answer must carry (the object's size, or the range's length) */
  length: number;
}

/** A copy of `bytes` (a Buffer's `copy` is a memcpy; `Buffer.from` of a view is far slower). */
function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** A buffer being filled for {@link Body.sendTo}. */
interface Fill {
  buffer: Buffer;
  filled: number;
  done: (bytes: number) => void;
  fail: (err: Error) => void;
}

/**
 * The answer's body: exactly `left` more bytes from the socket. Read as a stream, each socket read is
 * copied into a fresh buffer and pushed (the socket pauses while the stream's buffer is full). Sent with
 * {@link Body.sendTo}, the socket reads straight into the free end of the send buffer being filled
 * (`onread`'s buffer function asks {@link Body.nextReadBuffer} after every read, for the next), two
 * reused buffers sized by the process's send budget: no fresh memory per read, and the socket pauses
 * whenever no buffer waits for bytes. The socket is paused from the head until the body is read or
 * sent. The first read after each pause lands in the small landing buffer and is copied (at most
 * {@link LANDING_BYTES}; what does not fit waits in a spill buffer); {@link Body.takeFills} hands the
 * same source to a shared send (shared-sends.ts).
 */
class Body extends Readable implements DirectSend, Fillable {
  /** the buffer {@link sendTo} is filling, when it waits for bytes */
  #fill: Fill | undefined;
  /** what the socket's next read goes into: the shared read buffer, or the free end of #fill */
  #target: Buffer = readBuffer!;
  /** bytes of a read that did not fit (the socket is paused while there are any) */
  #spill: Buffer | undefined;
  #spilled = 0;
  #sending = false;
  /** read as a stream (`_read` was called, no send): reads go into the shared 1 MiB read buffer */
  #streaming = false;
  /** the body's bytes that came with the head, until read or sent */
  #early: Buffer | undefined;
  #failure: Error | undefined;

  constructor(
    private readonly socket: Socket,
    private left: number,
    private readonly driver: string,
  ) {
    super({ highWaterMark: READ_BYTES });
  }

  /** Where the socket's next read goes (asked after every read): the free end of the send buffer being filled, else the shared read buffer. */
  nextReadBuffer(): Buffer {
    const fill = this.#fill;
    if (fill && fill.filled < fill.buffer.length) this.#target = fill.buffer.subarray(fill.filled);
    else this.#target = this.#streaming ? readBuffer! : (landing ??= Buffer.allocUnsafe(LANDING_BYTES));
    return this.#target;
  }

  /** Takes the `n` bytes the socket's last read put at the start of its target (the shared read buffer is copied before this returns). */
  accept(n: number): void {
    this.#took(this.#target, n);
  }

  /** Takes `n` bytes at the start of `from`: in place when it is the free end of the buffer being filled, else copied. */
  #took(from: Buffer, n: number): void {
    if (this.left === 0 || this.destroyed) return;
    const taken = Math.min(n, this.left);
    this.left -= taken;
    const fill = this.#fill;
    if (fill && from !== readBuffer && from !== landing && from.buffer === fill.buffer.buffer) {
      socketReads.inPlace += taken;
      fill.filled += taken;
      this.#filled(fill);
    } else if (this.#sending) {
      socketReads.copied += taken;
      this.#sendBytes(from.subarray(0, taken));
    } else if (!this.push(copyOf(from.subarray(0, taken)))) this.socket.pause(); // with `onread`, pause() and resume() stop and restart the reads
    if (this.left > 0) return;
    if (!this.#sending) this.push(null);
    this.socket.destroy();
  }

  /** Bytes already received with the answer's head: kept for the first stream read or the send. */
  acceptEarly(bytes: Buffer): void {
    const taken = Math.min(bytes.length, this.left);
    this.left -= taken;
    this.#early = copyOf(bytes.subarray(0, taken));
    if (this.left === 0) this.socket.destroy();
  }

  /** Hands `fill` over when it is full or the body complete, and pauses the socket until the next buffer asks. */
  #filled(fill: Fill): void {
    if (fill.filled < fill.buffer.length && this.left > 0) return;
    this.#fill = undefined;
    if (this.left > 0) this.socket.pause();
    fill.done(fill.filled);
  }

  #sendBytes(part: Buffer): void {
    const fill = this.#fill;
    const taken = fill ? part.copy(fill.buffer, fill.filled) : 0;
    if (fill) fill.filled += taken;
    if (taken < part.length) {
      this.#spill ??= Buffer.allocUnsafeSlow(READ_BYTES);
      this.#spilled += part.copy(this.#spill, this.#spilled, taken);
      this.socket.pause();
    }
    if (fill) this.#filled(fill);
  }

  /** Fills `buffer` (or what is left of the body) from the socket. @returns the bytes filled */
  #next(buffer: Buffer): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    let filled = 0;
    if (this.#spilled > 0) {
      filled = this.#spill!.copy(buffer, 0, 0, this.#spilled);
      this.#spill!.copy(this.#spill!, 0, filled, this.#spilled);
      this.#spilled -= filled;
    }
    if (filled === buffer.length || (this.left === 0 && this.#spilled === 0)) return Promise.resolve(filled);
    return new Promise((done, fail) => {
      this.#fill = { buffer, filled, done, fail };
      this.socket.resume(); // its first read lands in the landing buffer (chosen before this fill asked), the next ones here
    });
  }

  /** The socket closed: an error unless every byte came. */
  socketClosed(err?: Error): void {
    if (this.left === 0) return;
    const failure = new StorageUnavailableError(this.driver, `the S3 store ended a GET ${this.left} bytes short`, { cause: err });
    this.#failure ??= failure;
    this.#fill?.fail(failure);
    this.#fill = undefined;
    if (!this.#sending) this.destroy(failure);
  }

  override _read(): void {
    if (this.#sending) return; // while sending, only a buffer waiting for bytes resumes the reads
    const early = this.#early;
    this.#early = undefined;
    if (early) this.push(early);
    if (this.left === 0) {
      this.push(null);
      return;
    }
    this.#streaming = true;
    this.socket.resume();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /**
   * Writes the body to `dest` through two reused send buffers (see {@link DirectSend}): while `dest`
   * writes one, the socket reads into the other; a buffer is read into again only after `dest` called
   * back for its previous write, and the socket pauses meanwhile (back-pressure). The buffers are
   * {@link READ_BYTES} while few sends run, smaller when many do (the process's send budget).
   */
  async sendTo(dest: Writable, options: { end?: boolean } = {}): Promise<void> {
    const { early, source } = this.takeFills();
    const prelude = (write: (bytes: Buffer) => Promise<void>): Promise<void> => Promise.all(early.map(write)).then(() => undefined);
    try {
      await withSendBudget(READ_BYTES, (bufferBytes) =>
        sendDoubleBuffered(dest, source, { bufferBytes, end: options.end ?? true, what: 'body', prelude }),
      );
    } finally {
      this.destroy();
    }
  }

  /**
   * Stops the stream's own reads: the socket reads only into buffers {@link BufferFiller.fillInto}
   * asks for from now on. @returns what was read before (the stream's buffer, in order) and that source
   */
  takeFills(): { early: Buffer[]; source: BufferFiller } {
    this.#sending = true;
    this.socket.pause(); // until the first buffer asks
    const early: Buffer[] = this.#early ? [this.#early] : [];
    this.#early = undefined;
    for (let chunk: Buffer | null; (chunk = this.read() as Buffer | null) !== null; ) early.push(chunk);
    return { early, source: { remaining: () => this.left + this.#spilled, fillInto: (buffer: Buffer) => this.#next(buffer) } };
  }
}

/** Status and framing of an answer's head, or why it is not streamable. */
function parseHead(head: string, get: LargeGet): string | undefined {
  const { status, headers } = parseResponseHead(head);
  if (status !== (get.range ? 206 : 200)) return `status ${Number.isNaN(status) ? '?' : status}`;
  if (headers['transfer-encoding'] !== undefined) return `transfer-encoding ${headers['transfer-encoding'] as string}`;
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  return length === get.length ? undefined : `content-length ${length ?? 'missing'}, expected ${get.length}`;
}

/**
 * GETs `get.url` and resolves with its body once the status and headers arrived.
 * @throws LargeGetFallback when the answer is not a plain `200`/`206` of `get.length` bytes, or the
 *   connection fails before that; the stream fails with StorageUnavailableError when the store ends early
 */
export function largeGet(get: LargeGet, driver: string): Promise<Readable & DirectSend & Fillable> {
  const { url } = get;
  if (url.protocol !== 'http:') return Promise.reject(new LargeGetFallback(`${url.protocol} is read through the SDK`));
  readBuffer ??= Buffer.allocUnsafe(READ_BYTES);
  return new Promise((resolve, reject) => {
    let body: Body | undefined;
    const gatherer = new HeadGatherer();
    const fail = (why: string, cause?: unknown): false => {
      socket.destroy();
      reject(new LargeGetFallback(why, { cause }));
      return false;
    };
    const onread = (n: number): boolean => {
      if (body) {
        body.accept(n);
        return true;
      }
      let gathered: ReturnType<HeadGatherer['add']>;
      try {
        gathered = gatherer.add(readBuffer!.subarray(0, n)); // read into again by the next read: what is kept is copied
      } catch (err) {
        return fail((err as Error).message);
      }
      if (!gathered) return true;
      const unfit = parseHead(gathered.head, get);
      if (unfit) return fail(unfit);
      socket.setTimeout(0);
      body = new Body(socket, get.length, driver);
      resolve(body);
      if (gathered.rest.length > 0) body.acceptEarly(gathered.rest);
      if (!body.destroyed) socket.pause(); // until the body is read as a stream or sent
      return true;
    };
    const socket = connect({ host: url.hostname, port: Number(url.port || 80), noDelay: true, onread: { buffer: () => body?.nextReadBuffer() ?? readBuffer!, callback: onread } });
    socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${HEAD_TIMEOUT_MS / 1000} s`)));
    socket.on('error', (err) => (body ? body.socketClosed(err) : fail(err.message, err)));
    socket.on('close', () => (body ? body.socketClosed() : fail('the connection closed before the answer')));
    const range = get.range ? `Range: bytes=${get.range.start}-${get.range.end}\r\n` : '';
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${range}Connection: close\r\n\r\n`);
  });
}
