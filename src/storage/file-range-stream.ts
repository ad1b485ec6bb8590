/**
 * A byte range of an open file as a Readable, with a faster way to send it: {@link FileRangeStream.sendTo}
 * writes the range to a Writable through two reused read buffers instead of a fresh 1 MiB buffer per
 * chunk (the blob pull profile spent ~7% of its CPU in V8 GC on those, see docs/performance.md).
 */
import type { FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DestinationWatch } from './destination-watch.js';
import { sendDoubleBuffered, withSendBudget } from './double-buffered-send.js';

/** Read buffer size in bytes of the Readable. */
const READ_CHUNK = 1024 * 1024;
/**
 * The largest send buffer in bytes: a lone 1 GiB pull measured about a third faster with two 4 MiB
 * buffers than with two of 1 MiB (fewer read and write round trips per byte); 8 MiB was no faster.
 */
const MAX_SEND_CHUNK = 4 * 1024 * 1024;

/** A stream that can write its bytes to a destination itself (see {@link FileRangeStream.sendTo}). */
export interface DirectSend {
  /**
   * Writes every byte of the stream to `dest`, then ends `dest` (unless `options.end` is false: a part
   * of a multipart answer). Call it instead of reading or piping the stream, never after. Rejects on a
   * read error, a short file, or `dest` closing or failing before the last byte, and then destroys
   * `dest` (without an error: the rejection carries it, so no 'error' event goes unheard); the stream
   * and its file handle are closed in every case.
   */
  sendTo(dest: Writable, options?: { end?: boolean }): Promise<void>;
}

/** Whether `stream` offers {@link DirectSend}. */
export function canSendDirect(stream: Readable): stream is Readable & DirectSend {
  return typeof (stream as Partial<DirectSend>).sendTo === 'function';
}

/**
 * Writes `stream` to `dest` through its {@link DirectSend} where it offers one, else by piping; ends
 * `dest` unless `end` is false.
 * @throws the stream's or `dest`'s error when either fails
 */
export async function sendStream(stream: Readable, dest: Writable, end = true): Promise<void> {
  if (canSendDirect(stream)) await stream.sendTo(dest, { end });
  else if (end) await pipeline(stream, dest);
  else await writeInto(stream, dest);
}

/**
 * Writes `stream` to `dest` without ending it, waiting for 'drain' where `dest` asks, under a
 * {@link DestinationWatch}. Not `pipeline` with `end: false`: on Node 20 that leaves a 'close'
 * listener on `dest` per call, and a multipart answer of more than 10 parts warned
 * MaxListenersExceededWarning. Every listener added here is removed.
 * @throws the stream's error (`dest` is then destroyed: a part cut short must not look whole), or an
 *   Error when `dest` closes or fails before the last byte
 */
async function writeInto(stream: Readable, dest: Writable): Promise<void> {
  const watch = new DestinationWatch(dest, 'the destination closed before the part was written');
  watch.gone.catch((err: Error) => stream.destroy(err)); // ends a wait for the stream's next chunk too
  await watch.run(async () => {
    for await (const chunk of stream) {
      if (dest.write(chunk as Buffer)) continue;
      const drained = new AbortController();
      try {
        await watch.until(once(dest, 'drain', { signal: drained.signal }));
      } finally {
        drained.abort();
      }
    }
  });
}

/** `length` bytes of `handle` from `offset`; owns the handle and closes it when destroyed or ended. */
export class FileRangeStream extends Readable implements DirectSend {
  readonly #handle: FileHandle;
  #position: number;
  #remaining: number;

  /**
   * @param handle an open file, closed by this stream
   * @param offset first byte, bytes from the start of the file
   * @param length bytes to read; the stream fails when the file ends before
   */
  constructor(handle: FileHandle, offset: number, length: number) {
    super({ highWaterMark: READ_CHUNK });
    this.#handle = handle;
    this.#position = offset;
    this.#remaining = length;
  }

  /** Reads the next chunk into a fresh buffer: a pushed chunk belongs to the consumer. */
  override _read(): void {
    if (this.#remaining === 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, this.#remaining));
    this.#readInto(buffer).then(
      (bytes) => this.push(buffer.subarray(0, bytes)),
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#handle.close().then(
      () => callback(err),
      (closeErr: Error) => callback(err ?? closeErr),
    );
  }

  async #readInto(buffer: Buffer): Promise<number> {
    const wanted = Math.min(buffer.length, this.#remaining);
    const { bytesRead } = await this.#handle.read(buffer, 0, wanted, this.#position);
    if (bytesRead === 0) throw new Error(`file ended ${this.#remaining} bytes before the requested range`);
    this.#position += bytesRead;
    this.#remaining -= bytesRead;
    return bytesRead;
  }

  /**
   * Double buffering: while `dest` writes one buffer, the next is read into the other; a buffer is
   * read into again only after `dest` called back for its previous write, so at most two buffers are
   * in flight (back-pressure) and no byte the socket still holds is overwritten. The buffers are 4 MiB
   * while few sends run, smaller when many do (the process's send budget, see withSendBudget).
   */
  async sendTo(dest: Writable, options: { end?: boolean } = {}): Promise<void> {
    await withSendBudget(MAX_SEND_CHUNK, (chunk) => this.#send(dest, chunk, options.end ?? true));
  }

  async #send(dest: Writable, chunk: number, end: boolean): Promise<void> {
    try {
      await sendDoubleBuffered(dest, { remaining: () => this.#remaining, fillInto: (buffer) => this.#readInto(buffer) }, { bufferBytes: chunk, end, what: 'range' });
    } finally {
      this.destroy();
    }
  }
}
