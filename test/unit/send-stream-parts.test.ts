/**
 * sendStream with `end: false` (the parts of a multipart/byteranges answer) from a stream that is not
 * a FileRangeStream (the memory and S3 drivers'): every part's bytes in order, `dest` left open, no
 * listener left behind (pipeline with `end: false` left a 'close' listener per part on Node 20: 11
 * parts warned MaxListenersExceededWarning), and a destination gone early rejects.
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sendStream } from '../../src/storage/file-range-stream.js';

const listeners = (w: Writable): number => ['close', 'error', 'finish', 'drain', 'end'].reduce((n, e) => n + w.listenerCount(e), 0);

describe('sendStream of parts (end: false)', () => {
  it('writes 50 parts in order, leaves the destination open, and no listener behind', async () => {
    const dest = new PassThrough({ highWaterMark: 4 });
    const got: Buffer[] = [];
    dest.on('data', (c: Buffer) => got.push(c));
    const before = listeners(dest);
    for (let i = 0; i < 50; i++) await sendStream(Readable.from([Buffer.from(`part ${i};`), Buffer.from('x'.repeat(64))]), dest, false);
    expect(listeners(dest)).toBe(before);
    expect(dest.writableEnded).toBe(false);
    expect(Buffer.concat(got).toString()).toBe(Array.from({ length: 50 }, (_, i) => `part ${i};${'x'.repeat(64)}`).join(''));
  });

  it('rejects, and destroys the stream, when the destination closes before the last byte', async () => {
    const dest = new Writable({ highWaterMark: 1, write: (_c, _e, cb) => setTimeout(cb, 5) });
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(16));
    const sent = sendStream(source, dest, false);
    setTimeout(() => dest.destroy(), 20);
    await expect(sent).rejects.toThrow();
    expect(source.destroyed).toBe(true);
    expect(listeners(dest)).toBe(0);
  });

  it("rejects with the stream's error and destroys the destination (a part cut short must not look whole)", async () => {
    const dest = new PassThrough();
    dest.resume();
    const failing = new Readable({ read() { this.destroy(new Error('read failed')); } });
    await expect(sendStream(failing, dest, false)).rejects.toThrow('read failed');
    expect(dest.destroyed).toBe(true);
  });
});
