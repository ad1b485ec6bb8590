/**
 * Generated blob data for pushes: a stream of `size` bytes made from one random 1 MiB block whose
 * first bytes carry a seed, so every seed is a distinct blob while the client never holds more than
 * the block in memory; and its sha256 digest, computed by streaming the same bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** The block size in bytes the generator repeats. */
export const BLOCK = 1024 * 1024;

const block = randomBytes(BLOCK);

/** The first block of blob `seed`: the shared block with the seed written over its first 16 bytes. */
function firstBlock(seed: string): Buffer {
  const first = Buffer.from(block);
  first.write(seed.padEnd(16, '.').slice(0, 16), 0, 'latin1');
  return first;
}

/** Yields the blob's bytes in blocks of at most {@link BLOCK} bytes from `offset` for `length` bytes. */
function* chunks(seed: string, size: number, offset = 0, length = size - offset): Generator<Buffer> {
  const first = firstBlock(seed);
  let position = offset;
  const end = offset + length;
  while (position < end) {
    const inBlock = position % BLOCK;
    const take = Math.min(BLOCK - inBlock, end - position);
    const source = position < BLOCK ? first : block;
    yield source.subarray(inBlock, inBlock + take);
    position += take;
  }
}

/**
 * A stream of bytes `[offset, offset + length)` of the blob `seed` of `size` bytes.
 * @param seed up to 16 latin1 characters that make the blob distinct
 */
export function blobStream(seed: string, size: number, offset = 0, length = size - offset): Readable {
  return Readable.from(chunks(seed, size, offset, length), { objectMode: false });
}

/** The `sha256:<hex>` digest of blob `seed` of `size` bytes (hashes it, ~0.7 s per GiB). */
export function blobDigest(seed: string, size: number): string {
  const hash = createHash('sha256');
  for (const chunk of chunks(seed, size)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}
