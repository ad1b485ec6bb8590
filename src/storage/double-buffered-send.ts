/**
 * Double-buffered sends of a blob's bytes to a Writable (a response socket), shared by the
 * filesystem's FileRangeStream and the S3 driver's large GETs ({@link DirectSend}): while `dest`
 * writes one buffer, the next is filled into the other; a buffer is filled again only after `dest`
 * called back for its previous write, so at most two buffers are in flight (back-pressure) and no
 * byte the socket still holds is overwritten. Buffers are allocated when first needed, no larger
 * than what is left, so a small blob takes one small buffer.
 */
import type { Writable } from 'node:stream';
import { DestinationWatch } from './destination-watch.js';

/** The smallest send buffer in bytes. */
const MIN_SEND_CHUNK = 256 * 1024;
/**
 * Bytes that the send buffers of all concurrent sends of the process (filesystem ranges and S3 large
 * GETs) may take together: two sends of 4 MiB buffers, 8 of 1 MiB, 32 at once 256 KiB each. Memory freed
 * after a burst of concurrent pulls stays in the process (the allocator keeps it), so the budget bounds
 * the resident memory such a burst leaves behind.
 */
const SEND_BUDGET = 16 * 1024 * 1024;
/** The sends in progress in this process. */
let activeSends = 0;

/**
 * Runs a send with the size of each of its two buffers: its share of the process's budget while it
 * starts (itself counted), between 256 KiB and `maxBytes`.
 */
export async function withSendBudget<T>(maxBytes: number, send: (bufferBytes: number) => Promise<T>): Promise<T> {
  activeSends += 1;
  try {
    const share = Math.floor(SEND_BUDGET / (2 * activeSends));
    return await send(Math.max(MIN_SEND_CHUNK, Math.min(maxBytes, share)));
  } finally {
    activeSends -= 1;
  }
}

/** Where the bytes come from. */
export interface BufferFiller {
  /** bytes still to send */
  remaining(): number;
  /** fills `buffer` from its start with up to `buffer.length` bytes; resolves to the bytes filled */
  fillInto(buffer: Buffer): Promise<number>;
}

/** Options of {@link sendDoubleBuffered}. */
export interface DoubleBufferedOptions {
  /** bytes of each of the two buffers at most */
  bufferBytes: number;
  /** end `dest` after the last byte */
  end: boolean;
  /** what is being sent, for the error when `dest` closes early ("body", "range") */
  what: string;
  /** writes before the first buffer (bytes already read); their completion gates the first buffer's reuse */
  prelude?: (write: (bytes: Buffer) => Promise<void>) => Promise<void>;
}

/**
 * Sends every byte of `source` to `dest`.
 * @throws the error of `dest`, or `ERR_STREAM_PREMATURE_CLOSE` (Node's code for a stream closed
 * early: the client went away, no server fault) when `dest` closes first; `dest` is destroyed then
 */
export async function sendDoubleBuffered(dest: Writable, source: BufferFiller, options: DoubleBufferedOptions): Promise<void> {
  const watch = new DestinationWatch(dest, `the destination closed before the whole ${options.what} was written`);
  const write = (bytes: Buffer): Promise<void> => {
    const written = new Promise<void>((resolve, reject) => dest.write(bytes, (err) => (err ? reject(err) : resolve())));
    written.catch(() => undefined);
    return written;
  };
  await watch.run(async () => {
    const pool: Array<Buffer | undefined> = [undefined, undefined];
    const released: Array<Promise<void>> = [options.prelude ? options.prelude(write) : Promise.resolve(), Promise.resolve()];
    for (let slot = 0; source.remaining() > 0; slot ^= 1) {
      await watch.until(released[slot]!);
      const buffer = (pool[slot] ??= Buffer.allocUnsafeSlow(Math.min(options.bufferBytes, source.remaining())));
      const bytes = await watch.until(source.fillInto(buffer));
      released[slot] = write(buffer.subarray(0, bytes));
    }
    await watch.until(Promise.all(released));
    if (options.end) await watch.end();
  });
}
