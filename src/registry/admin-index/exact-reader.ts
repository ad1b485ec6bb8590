/**
 * Reading a byte stream in pieces of exact lengths (the admin index's snapshot: a header line, then
 * sections whose lengths the header gives), copying straight into the caller's arrays.
 */
import type { Readable } from 'node:stream';

/** Reads a stream in pieces of exact lengths. */
export class ExactReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #rest: Buffer = Buffer.alloc(0);

  constructor(stream: Readable) {
    this.#chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async #more(): Promise<boolean> {
    const next = await this.#chunks.next();
    if (next.done) return false;
    this.#rest = this.#rest.length === 0 ? next.value : Buffer.concat([this.#rest, next.value]);
    return true;
  }

  /** The bytes up to the first newline (without it), or undefined when there is none in the first `max` bytes. */
  async line(max: number): Promise<string | undefined> {
    for (;;) {
      const end = this.#rest.indexOf(10);
      if (end >= 0) {
        const line = this.#rest.subarray(0, end).toString('utf8');
        this.#rest = this.#rest.subarray(end + 1);
        return line;
      }
      if (this.#rest.length > max || !(await this.#more())) return undefined;
    }
  }

  /** Fills `into` with the next bytes. @returns false when the stream ended first */
  async fill(into: Uint8Array): Promise<boolean> {
    let filled = 0;
    while (filled < into.length) {
      if (this.#rest.length === 0 && !(await this.#more())) return false;
      const n = Math.min(this.#rest.length, into.length - filled);
      into.set(this.#rest.subarray(0, n), filled);
      this.#rest = this.#rest.subarray(n);
      filled += n;
    }
    return true;
  }
}
