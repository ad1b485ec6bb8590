/**
 * The window of a blob fill: bytes come out as they went in, whatever the chunk sizes, and a block
 * goes back to the pool (to be overwritten by the next bytes) only once every write of it completed.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, FillWindow, pooledBlocks } from '../../src/proxy/fill-window.js';

/**
 * A destination that completes its writes only when told: like a socket whose kernel buffer is full,
 * it copies a write's bytes at its completion, so a block reused too early shows as wrong bytes.
 */
class SlowDestination extends Writable {
  readonly received: Buffer[] = [];
  readonly #pending: (() => void)[] = [];

  constructor() {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending.push(() => {
      this.received.push(Buffer.from(chunk));
      cb();
    });
  }

  /** Completes the writes handed to it so far, in order. */
  complete(): void {
    while (this.#pending.length > 0) this.#pending.shift()!();
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('FillWindow', () => {
  it('keeps the last `capacity` bytes and gives them back unchanged, across chunks and blocks', () => {
    const blob = randomBytes(5 * BLOCK_BYTES + 12345);
    const window = new FillWindow(2 * BLOCK_BYTES);
    for (let at = 0; at < blob.length; at += 65_536) window.append(blob.subarray(at, at + 65_536));
    expect(window.received).toBe(blob.length);
    expect(window.received - window.first).toBeGreaterThanOrEqual(2 * BLOCK_BYTES);
    const out = new Writable({ write: (_c, _e, cb) => cb() });
    const pieces: Buffer[] = [];
    out.write = (chunk: Buffer, cb?: unknown) => (pieces.push(Buffer.from(chunk)), typeof cb === 'function' && cb(), true);
    const from = window.received - 2 * BLOCK_BYTES + 7;
    window.write(out, from, window.received);
    expect(Buffer.concat(pieces).equals(blob.subarray(from))).toBe(true);
    window.clear();
  });

  it('never reuses a block whose write has not completed: a slow client gets the bytes it was sent', async () => {
    const blob = randomBytes(8 * BLOCK_BYTES);
    const window = new FillWindow(BLOCK_BYTES);
    const dest = new SlowDestination();
    // the client is handed the first block, whose write stays pending while the window moves on
    window.append(blob.subarray(0, BLOCK_BYTES));
    window.write(dest, 0, BLOCK_BYTES);
    // a second fill reuses pooled blocks meanwhile: none may be the pending one
    const other = new FillWindow(BLOCK_BYTES);
    for (let at = BLOCK_BYTES; at < blob.length; at += BLOCK_BYTES) {
      window.append(blob.subarray(at, at + BLOCK_BYTES));
      other.append(Buffer.alloc(BLOCK_BYTES, 0xee));
    }
    expect(window.first).toBeGreaterThan(0);
    window.clear();
    other.clear();
    await flush();
    dest.complete();
    await flush();
    dest.complete();
    expect(Buffer.concat(dest.received).equals(blob.subarray(0, BLOCK_BYTES))).toBe(true);
  });

  it('gives blocks back to the pool once out of the window and written', async () => {
    const window = new FillWindow(BLOCK_BYTES);
    window.append(Buffer.alloc(3 * BLOCK_BYTES, 1));
    const pooled = pooledBlocks();
    const dest = new SlowDestination();
    window.write(dest, window.first, window.received);
    window.clear();
    expect(pooledBlocks()).toBe(pooled);
    await flush();
    dest.complete();
    await flush();
    expect(pooledBlocks()).toBe(pooled + 1);
  });
});

describe('FillWindow sealing (the hash on the worker thread)', () => {
  it('hands every block over once full, and the last one at seal, in order; a block is reused only once released', () => {
    const blob = randomBytes(3 * BLOCK_BYTES + 100);
    const sealed: { bytes: Buffer; done: () => void }[] = [];
    const window = new FillWindow(BLOCK_BYTES, (bytes, done) => sealed.push({ bytes: Buffer.from(bytes), done }));
    for (let at = 0; at < blob.length; at += 65_536) window.append(blob.subarray(at, at + 65_536));
    expect(sealed.map((s) => s.bytes.length)).toEqual([BLOCK_BYTES, BLOCK_BYTES, BLOCK_BYTES]);
    window.seal();
    window.seal();
    expect(Buffer.concat(sealed.map((s) => s.bytes)).equals(blob)).toBe(true);
    const pooled = pooledBlocks();
    window.clear();
    expect(pooledBlocks()).toBe(pooled);
    for (const s of sealed) s.done();
    expect(pooledBlocks()).toBe(pooled + sealed.length);
    expect(sealed).toHaveLength(4);
  });
});
