/**
 * The most recent bytes of a blob being filled, kept in memory for the clients of the fill: the
 * upstream's chunks are copied into blocks of 1 MiB taken from a pool shared by every fill of the
 * process, and clients are sent slices of those blocks. A block goes back to the pool once it left
 * the window AND every socket write of a slice of it completed (the write's callback), so a reused
 * block never changes bytes a client is still being sent.
 *
 * Why copy instead of keeping the upstream's chunks (one new 64 KiB buffer per socket read): chunks
 * kept for a window of megabytes outlive V8's young generation, are promoted and freed only by full
 * (mark-compact) collections, which external memory growth then forces every few megabytes: a cold
 * pull spent more CPU in the garbage collector than in anything else. Copied, a chunk dies young (a
 * cheap scavenge) and the window's memory is reused (the copy costs ~0.1 ms per MiB).
 *
 * The blocks are shared memory (SharedArrayBuffer): each one, once full (and the last one at
 * {@link FillWindow.seal}), is handed to the fill's `sealed` callback, which hashes it on a worker
 * thread ({@link BlockHasher}); a block is held for that too, like for a socket write.
 */
import type { Writable } from 'node:stream';

/** Bytes of one block of the window (the pool's unit). */
export const BLOCK_BYTES = 1024 * 1024;

/** Blocks kept in the pool at most (32 MiB): beyond it, blocks that come back are left to the garbage collector. */
const POOL_BLOCKS = 32;

const pool: Buffer[] = [];

/** Blocks in the pool now (tests). */
export function pooledBlocks(): number {
  return pool.length;
}

/** Told of each block's bytes once no more are added to it; calls `done` when it no longer reads them. */
export type SealedBlock = (bytes: Buffer, done: () => void) => void;

interface Block {
  bytes: Buffer;
  /** offset of its first byte in the blob */
  start: number;
  /** bytes of it filled */
  used: number;
  /** socket writes of slices of it, and its hashing, not completed yet */
  writes: number;
  /** handed to `sealed` */
  sealed: boolean;
  /** out of the window: back to the pool at the last write's completion */
  retired: boolean;
}

/** A window of the last `capacity` bytes (at least) of a blob that arrives in order. */
export class FillWindow {
  #blocks: Block[] = [];
  #received = 0;
  #held = 0;
  readonly #blockBytes: number;
  readonly #done = (block: Block) => () => {
    block.writes--;
    if (block.retired && block.writes === 0) release(block);
  };

  /**
   * @param capacity bytes the window holds at least (once they arrived)
   * @param sealed told of every block's bytes once complete, in order (see {@link SealedBlock})
   */
  constructor(
    private readonly capacity: number,
    private readonly sealed?: SealedBlock,
  ) {
    this.#blockBytes = Math.min(BLOCK_BYTES, Math.max(1, capacity));
  }

  /** Bytes appended so far. */
  get received(): number {
    return this.#received;
  }

  /** Offset of the oldest byte still held (`received` when none is). */
  get first(): number {
    return this.#blocks[0]?.start ?? this.#received;
  }

  /** Copies `chunk` in after the bytes received, dropping the oldest blocks beyond the capacity. */
  append(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      let block = this.#blocks[this.#blocks.length - 1];
      if (!block || block.used === block.bytes.length) {
        block = { bytes: take(this.#blockBytes), start: this.#received + from, used: 0, writes: 0, sealed: false, retired: false };
        this.#blocks.push(block);
      }
      const copied = chunk.copy(block.bytes, block.used, from);
      block.used += copied;
      from += copied;
      if (block.used === block.bytes.length) this.#seal(block);
    }
    this.#received += chunk.length;
    this.#held += chunk.length;
    while (this.#blocks.length > 1 && this.#held - this.#blocks[0]!.used >= this.capacity) {
      const oldest = this.#blocks.shift()!;
      this.#held -= oldest.used;
      retire(oldest);
    }
  }

  /**
   * Writes the held bytes `[position, limit)` to `dest` (corked: one vectored write), slices of the
   * blocks without a copy, `position` no earlier than {@link first} and `limit` no later than {@link received}.
   * @returns false when `dest` asks to wait for `drain`
   */
  write(dest: Writable, position: number, limit: number): boolean {
    let room = true;
    let i = this.#index(position);
    dest.cork();
    while (position < limit) {
      const block = this.#blocks[i++]!;
      const from = position - block.start;
      const piece = block.bytes.subarray(from, Math.min(block.used, from + limit - position));
      block.writes++;
      room = dest.write(piece, this.#done(block));
      position += piece.length;
    }
    dest.uncork();
    return room;
  }

  /** No more bytes come: the last block, if not full, is handed to `sealed` too. */
  seal(): void {
    const last = this.#blocks[this.#blocks.length - 1];
    if (last && !last.sealed && last.used > 0) this.#seal(last);
  }

  #seal(block: Block): void {
    block.sealed = true;
    if (!this.sealed) return;
    block.writes++;
    this.sealed(block.bytes.subarray(0, block.used), this.#done(block));
  }

  /** Drops every block (each back to the pool once its writes completed). */
  clear(): void {
    for (const block of this.#blocks) retire(block);
    this.#blocks = [];
    this.#held = 0;
  }

  /** The index of the block holding byte `position` (inside the window). */
  #index(position: number): number {
    let lo = 0;
    let hi = this.#blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#blocks[mid]!.start <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function take(bytes: number): Buffer {
  return (bytes === BLOCK_BYTES ? pool.pop() : undefined) ?? Buffer.from(new SharedArrayBuffer(bytes));
}

function retire(block: Block): void {
  block.retired = true;
  if (block.writes === 0) release(block);
}

function release(block: Block): void {
  if (block.bytes.length === BLOCK_BYTES && pool.length < POOL_BLOCKS) pool.push(block.bytes);
}
