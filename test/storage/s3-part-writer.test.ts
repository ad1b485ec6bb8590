/**
 * The part writer's memory (src/storage/s3-part-writer.ts): an append holds one part at a time, in 1 MiB
 * slabs that every part reuses whatever its size, so what a long upload takes does not grow as its parts
 * grow (a whole-part buffer per size left idle buffers of earlier sizes and the last part's garbage
 * beside the part uploading). Over a stand-in for the S3 side: no store needed.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { ChunkedObjects, Upload } from '../../src/storage/s3-chunked.js';
import { PartWriter, SLAB_BYTES, slabPool } from '../../src/storage/s3-part-writer.js';

const MiB = 1024 * 1024;

/** The S3 side of a writer: parts from `partSize`, each upload hashed and sized, one at a time checked. */
function fakeObjects(partSize: (start: number) => number) {
  const parts: { number: number; size: number }[] = [];
  const hash = createHash('sha256');
  let inFlight = 0;
  let maxInFlight = 0;
  const objects = {
    partSize,
    newUpload: async (): Promise<Upload> => ({ key: 'k', uploadId: 'u', tag: 't' }),
    readPending: async (): Promise<Buffer[]> => [],
    uploadPart: async (_path: string, _upload: Upload, number: number, body: Buffer[]): Promise<string> => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      for (const b of body) hash.update(b);
      parts.push({ number, size: body.reduce((n, b) => n + b.length, 0) });
      inFlight--;
      return `"etag-${number}"`;
    },
  };
  return { objects: objects as unknown as ChunkedObjects, parts, hash, maxInFlight: () => maxInFlight };
}

/** Deterministic bytes: `size` of them in request-sized chunks (64 KiB). */
function* body(size: number): Generator<Buffer> {
  let i = 0;
  for (let at = 0; at < size; at += 64 * 1024) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, size - at), i++ % 251);
    yield chunk;
  }
}

describe('S3 part writer', () => {
  it('cuts growing parts from reused slabs: the slabs taken are one part (the largest) whatever the number and sizes of the parts', async () => {
    // parts grow with the upload as partSizeAt makes them grow (here fast: 5 MiB + a quarter of the start)
    const grow = (start: number): number => 5 * MiB + Math.ceil(start / 4);
    const size = 160 * MiB;
    const { objects, parts, hash, maxInFlight } = fakeObjects(grow);
    const before = slabPool.allocated;
    slabPool.peakInUse = 0;
    const writer = new PartWriter(objects, '/s', { size: 0, partsEnd: 0, nextPart: 1, pending: [] });
    const expected = createHash('sha256');
    for (const chunk of body(size)) {
      expected.update(chunk);
      await writer.write(chunk);
    }
    await writer.end();
    const recorded = writer.recordable(false);
    for (const t of recorded.tail) hash.update(t);
    writer.release();
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    // every part but the last has its planned size, and the sizes grew
    let start = 0;
    for (const p of parts.slice(0, -1)) {
      expect(p.size).toBe(grow(start));
      start += p.size;
    }
    const largest = Math.max(...parts.map((p) => p.size));
    expect(parts.length).toBeGreaterThan(5);
    expect(largest).toBeGreaterThan(3 * parts[0]!.size);
    expect(maxInFlight()).toBe(1);
    // memory: the slabs of one part, the largest (sizes are not multiples of a slab: +1), never more; and
    // no garbage: every slab allocated was needed at the peak (each part reused the slabs of the one before)
    const onePart = Math.ceil(largest / SLAB_BYTES) + 1;
    expect(slabPool.peakInUse).toBeLessThanOrEqual(onePart);
    expect(slabPool.allocated - before).toBeLessThanOrEqual(onePart);
  });

  it('a second append of the same part sizes takes no new memory: the slabs of the first are reused', async () => {
    const fixed = (): number => 8 * MiB;
    const first = fakeObjects(fixed);
    const w1 = new PartWriter(first.objects, '/a', { size: 0, partsEnd: 0, nextPart: 1, pending: [] });
    for (const chunk of body(40 * MiB)) await w1.write(chunk);
    await w1.end();
    w1.release();
    const before = slabPool.allocated;
    const second = fakeObjects(fixed);
    const w2 = new PartWriter(second.objects, '/b', { size: 0, partsEnd: 0, nextPart: 1, pending: [] });
    for (const chunk of body(40 * MiB)) await w2.write(chunk);
    await w2.end();
    w2.release();
    expect(second.parts.map((p) => p.size)).toEqual([8, 8, 8, 8, 8].map((m) => m * MiB));
    expect(slabPool.allocated - before).toBe(0);
  });

  it('idle slabs are dropped 2 s after the last append closed, kept when another append opens before', async () => {
    const fixed = (): number => 6 * MiB;
    const push = async (path: string): Promise<void> => {
      const w = new PartWriter(fakeObjects(fixed).objects, path, { size: 0, partsEnd: 0, nextPart: 1, pending: [] });
      for (const chunk of body(12 * MiB)) await w.write(chunk);
      await w.end();
      w.release();
    };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await push('/c');
      expect(slabPool.idle).toBeGreaterThan(0);
      vi.advanceTimersByTime(1000);
      await push('/d'); // opens before the drop: its slabs are the idle ones
      vi.advanceTimersByTime(1500);
      expect(slabPool.idle).toBeGreaterThan(0);
      vi.advanceTimersByTime(600);
      expect(slabPool.idle).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a dropped slab’s memory is handed over at once (freed at the next scavenge), not left to a full collection', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      slabPool.open();
      const slabs = Array.from({ length: 20 }, () => slabPool.take());
      slabPool.give(slabs);
      slabPool.close();
      // 16 MiB stay idle for the next append, the 4 beyond are dropped now, the rest 2 s later
      expect(slabs.filter((s) => s.length === 0)).toHaveLength(4);
      vi.advanceTimersByTime(2100);
      expect(slabs.every((s) => s.length === 0)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the slabs of a part whose upload failed are not reused (its request may still hold them)', async () => {
    const failing = {
      partSize: (): number => 5 * MiB,
      newUpload: async (): Promise<Upload> => ({ key: 'k', uploadId: 'u', tag: 't' }),
      readPending: async (): Promise<Buffer[]> => [],
      uploadPart: async (): Promise<string> => Promise.reject(new Error('store gone')),
    } as unknown as ChunkedObjects;
    const give = vi.spyOn(slabPool, 'give');
    try {
      const w = new PartWriter(failing, '/f', { size: 0, partsEnd: 0, nextPart: 1, pending: [] });
      const write = async (): Promise<void> => {
        for (const chunk of body(6 * MiB)) await w.write(chunk);
      };
      await expect(write()).rejects.toThrow('store gone');
      w.release();
      const [failed] = give.mock.calls.find(([, reusable]) => reusable === false)!;
      expect(failed).toHaveLength(5);
      expect(failed.every((slab) => slab.length === SLAB_BYTES)).toBe(true);
      slabPool.open();
      const next = Array.from({ length: 32 }, () => slabPool.take());
      expect(next.filter((slab) => failed.includes(slab))).toEqual([]);
      slabPool.give(next);
      slabPool.close();
    } finally {
      give.mockRestore();
    }
  });
});
