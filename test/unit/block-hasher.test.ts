/**
 * The fill's sha256 on the worker thread: the digest of the bytes handed over in order, whatever the
 * pieces; each piece released only once hashed (so the window does not reuse a block the worker still
 * reads); a discarded hash releases its pieces and rejects its digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlockHasher } from '../../src/proxy/block-hasher.js';

/** `bytes` copied into shared memory, as the fill window's blocks are. */
function shared(bytes: Buffer): Buffer {
  const out = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(out);
  return out;
}

describe('BlockHasher', () => {
  it('hashes the pieces in order, releasing each once hashed', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 777);
    const hasher = new BlockHasher();
    const released: number[] = [];
    const cuts = [0, 1, 65_536, 1024 * 1024, 2 * 1024 * 1024 + 5, blob.length];
    for (let i = 0; i + 1 < cuts.length; i++) hasher.update(shared(blob.subarray(cuts[i], cuts[i + 1])), () => released.push(i));
    expect(hasher.pending).toBe(blob.length);
    const digest = await hasher.digest();
    expect(digest).toBe(`sha256:${createHash('sha256').update(blob).digest('hex')}`);
    expect(released).toEqual([0, 1, 2, 3, 4]);
    expect(hasher.pending).toBe(0);
  });

  it('a failed hasher has nothing pending and releases every piece', async () => {
    const hasher = new BlockHasher();
    const released: number[] = [];
    hasher.update(shared(randomBytes(1024 * 1024)), () => released.push(0));
    hasher.update(shared(randomBytes(1024 * 1024)), () => released.push(1));
    hasher.fail(new Error('the hashing worker exited (code 1)'));
    expect(hasher.pending).toBe(0);
    expect(released).toEqual([0, 1]);
    await expect(hasher.digest()).rejects.toThrow(/worker exited/);
  });

  it('gives the digest of nothing for no bytes, and hashes fills apart', async () => {
    const [a, b] = [new BlockHasher(), new BlockHasher()];
    a.update(shared(Buffer.from('abc')), () => undefined);
    b.update(shared(Buffer.from('xyz')), () => undefined);
    expect(await Promise.all([a.digest(), b.digest(), new BlockHasher().digest()])).toEqual([
      `sha256:${createHash('sha256').update('abc').digest('hex')}`,
      `sha256:${createHash('sha256').update('xyz').digest('hex')}`,
      `sha256:${createHash('sha256').digest('hex')}`,
    ]);
  });

  it('releases every piece of a discarded hash and refuses its digest', async () => {
    const hasher = new BlockHasher();
    let released = 0;
    hasher.update(shared(randomBytes(4096)), () => released++);
    hasher.discard();
    expect(released).toBe(1);
    await expect(hasher.digest()).rejects.toThrow(/abandoned/);
    hasher.update(shared(randomBytes(10)), () => released++);
    expect(released).toBe(2);
  });

  it('refuses bytes outside shared memory (the worker could not read them)', () => {
    expect(() => new BlockHasher().update(Buffer.from('abc'), () => undefined)).toThrow(/SharedArrayBuffer/);
  });
});
