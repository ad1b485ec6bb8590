/**
 * GETs of large bodies over plain HTTP, read from a TCP socket of their own into slabs of 120 KiB
 * (`net.connect`'s `onread`), for blob GETs (a pull-through cache's upstream fetches, pulls from a
 * loopback or `insecure` registry). Node's HTTP client reads a socket 64 KiB at a time into a fresh
 * buffer, and its parser copies each body chunk into another one before a stream push: two buffers
 * and a parser callback per 64 KiB. Here every read lands in the free end of a slab and the body's
 * chunks are views of it, handed on without a copy or a parser; a slab is freed when no chunk of it
 * is held any more (the chunks go on to a window, a file, a socket: nothing can tell when all of them
 * let go, so slabs are not reused). The socket side of the S3 driver's large reads
 * (storage/s3-large-get.ts), for a registry's answer.
 *
 * Slabs are {@link SLAB_BYTES}, under the 128 KiB mmap threshold `wharf` runs with
 * (`MALLOC_MMAP_THRESHOLD_=131072`, its `#!` line): malloc then reuses freed slabs' memory. 1 MiB
 * slabs were each a fresh mmap, whose page faults, zeroing and unmapping, and the full collections
 * their external memory forced, cost more than the parser saved (a cold pull-through fill: 0.87 s of
 * CPU per 200 MiB against 0.555 s with 120 KiB; docs/performance.md, "Upstream bodies read into slabs").
 *
 * One request per connection (`Connection: close`): the answer's head (status, headers) and a body
 * framed by `Content-Length` (or by the connection's close when it has none). An answer with another
 * framing (`Transfer-Encoding`, an interim 1xx) rejects with {@link SocketGetFallback} before anything
 * was returned, and the caller sends the GET again through Node's HTTP client. Plain `http:` only.
 */
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { HeadGatherer, parseResponseHead } from '../net/response-head.js';

/** Bytes of one slab the socket reads into (see the module's comment: under the mmap threshold). */
export const SLAB_BYTES = 120 * 1024;
/** A slab with less free room than this is left for a new one (reads of a few KiB would follow; most reads fill 64 KiB or more). */
const MIN_READ = 16 * 1024;

/** Bytes of bodies received into slabs, and answers sent again through Node's HTTP client (tests, profiles). */
export const socketGets = { bodies: 0, bytes: 0, fallbacks: 0 };

/** The answer has a framing read only by Node's HTTP client: send the GET again through it. */
export class SocketGetFallback extends Error {
  override readonly name = 'SocketGetFallback';
}

/** A GET to send: the URL (`http:`), its headers (lowercase names), an abort signal and the idle timeout. */
export interface SocketGetRequest {
  url: URL;
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** ms without a byte before the exchange fails (`ETIMEDOUT`) */
  timeoutMs: number;
}

/** The answer: status, lowercase headers (as Node's HTTP client gives them), the body stream. */
export interface SocketGetAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** An error with a `code` (as Node's network errors carry). */
function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * The body of an answer: views of the slabs the socket read into, pushed as they arrive; the socket
 * pauses while the stream's buffer is full. Ends after `left` bytes (all of them until the close when
 * undefined); a close before fails it with `ECONNRESET`.
 */
class SlabBody extends Readable {
  constructor(
    private readonly socket: Socket,
    private left: number | undefined,
  ) {
    super({ highWaterMark: SLAB_BYTES });
  }

  /** Takes the body's bytes that came with the head; a body of 0 bytes ends at once. */
  begin(rest: Buffer): void {
    if (this.left !== 0) return this.received(rest);
    this.push(null);
    this.socket.destroy();
  }

  /** Takes bytes read from the socket (views of a slab, kept as they are). */
  received(bytes: Buffer): void {
    if (this.destroyed || this.left === 0) return;
    const part = this.left === undefined || bytes.length <= this.left ? bytes : bytes.subarray(0, this.left);
    if (this.left !== undefined) this.left -= part.length;
    socketGets.bytes += part.length;
    const room = this.push(part);
    if (this.left === 0) {
      this.push(null);
      this.socket.destroy();
    } else if (!room) this.socket.pause(); // with `onread`, pause() and resume() stop and restart the reads
  }

  /** The connection closed or failed: the end of a body framed by the close, else a cut. */
  connectionClosed(err?: Error): void {
    if (this.destroyed || this.readableEnded || this.left === 0) return;
    if (this.left === undefined && !err) this.push(null);
    else this.destroy(err ?? coded('the connection closed mid-body', 'ECONNRESET'));
  }

  override _read(): void {
    this.socket.resume();
  }

  /** As Node's `IncomingMessage`: an error nobody listens for (a body already given up) is not thrown. */
  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.socket.destroy();
    cb(this.listenerCount('error') === 0 ? null : err);
  }
}

/** Status, headers and body framing of an answer's head. @throws SocketGetFallback for a framing read elsewhere */
function parseHead(head: string): { status: number; headers: SocketGetAnswer['headers']; length: number | undefined } {
  const { status, statusLine, headers } = parseResponseHead(head);
  if (!(status >= 200)) throw new SocketGetFallback(`status line ${JSON.stringify(statusLine)}`);
  if (headers['transfer-encoding'] !== undefined) throw new SocketGetFallback(`transfer-encoding ${headers['transfer-encoding'] as string}`);
  const declared = headers['content-length'] as string | undefined;
  let length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) throw new SocketGetFallback(`content-length ${declared}`);
  if (status === 204 || status === 304) length = 0;
  return { status, headers, length };
}

/**
 * Sends `GET req.url` on a connection of its own and resolves once the answer's head arrived.
 * @throws SocketGetFallback (the answer's framing, or a header value Node's client would refuse) |
 *   the socket's error (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, an abort) before the head; the body
 *   fails with `ECONNRESET` when the connection closes early, `ETIMEDOUT` when idle
 */
export function socketGet(req: SocketGetRequest): Promise<SocketGetAnswer> {
  const { url, signal } = req;
  if (url.protocol !== 'http:') return Promise.reject(new SocketGetFallback(`${url.protocol} goes through Node's HTTP client`));
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(req.headers)) {
    if (/[\r\n]/.test(name + value) || name === 'connection' || name === 'host') return Promise.reject(new SocketGetFallback(`header ${name}`));
    lines.push(`${name}: ${value}`);
  }
  lines.push('connection: close', '', '');
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    let used = 0;
    let target = slab;
    let body: SlabBody | undefined;
    const gatherer = new HeadGatherer();
    const abort = () => socket.destroy(signal!.reason as Error);
    const fail = (err: Error) => {
      signal?.removeEventListener('abort', abort);
      socket.destroy();
      reject(err);
    };
    const next = (): Buffer => {
      if (slab.length - used < MIN_READ) {
        slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
        used = 0;
      }
      return (target = slab.subarray(used));
    };
    const onread = (n: number): boolean => {
      const bytes = target.subarray(0, n);
      used += n;
      if (body) {
        body.received(bytes);
        return true;
      }
      let gathered: ReturnType<HeadGatherer['add']>;
      try {
        gathered = gatherer.add(bytes);
      } catch (err) {
        fail(new SocketGetFallback((err as Error).message));
        return false;
      }
      return gathered ? answered(gathered.head, gathered.rest) : true;
    };
    const answered = (head: string, rest: Buffer): boolean => {
      let parsed: ReturnType<typeof parseHead>;
      try {
        parsed = parseHead(head);
      } catch (err) {
        fail(err as Error);
        return false;
      }
      body = new SlabBody(socket, parsed.length);
      socketGets.bodies++;
      signal?.removeEventListener('abort', abort);
      if (signal) {
        const cut = (): void => void body!.destroy(signal.reason as Error);
        signal.addEventListener('abort', cut, { once: true });
        body.once('close', () => signal.removeEventListener('abort', cut));
      }
      resolve({ status: parsed.status, headers: parsed.headers, body });
      body.begin(rest);
      return true;
    };
    const socket = connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80), noDelay: true, onread: { buffer: next, callback: onread } });
    socket.setTimeout(req.timeoutMs, () => socket.destroy(coded(`no byte in ${req.timeoutMs / 1000} s`, 'ETIMEDOUT')));
    socket.on('error', (err) => (body ? body.connectionClosed(err) : fail(err)));
    socket.on('close', () => (body ? body.connectionClosed() : fail(coded('the connection closed before the answer', 'ECONNRESET'))));
    signal?.addEventListener('abort', abort, { once: true });
    socket.write(lines.join('\r\n'));
  });
}
