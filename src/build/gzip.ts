/**
 * The build helper's one compressor: gzip (RFC 1952) whose bytes depend on nothing but the input,
 * on every Node.js version, so the same layer tar always gives the same layer digest.
 *
 * Node's zlib is not usable for that: its deflate (Chromium's zlib fork) changes with Node releases,
 * so the same tar gzips to different bytes (DESIGN.md "The gzip trap"). Deflate here is fflate,
 * pinned to an exact version in package.json, at a fixed level; golden digests in
 * test/unit/build-gzip.test.ts fail if any of it moves.
 *
 * Shape (pigz's, without its threads): the input is cut at fixed 1 MiB boundaries; each segment is
 * deflated on its own (no back-references across segments) and ends with a sync flush (an empty
 * stored block), so segments are independent and byte-aligned and the whole is one deflate stream,
 * closed by an empty final stored block. A segment whose bytes look incompressible (order-0 entropy
 * of at least {@link STORE_ENTROPY_BITS} bits per byte: model weights, already-compressed archives)
 * is written as stored blocks instead: as reproducible (a pure function of the bytes) and about 50x
 * faster than deflating data that will not shrink. The CRC-32 is zlib's (`zlib.crc32`, which only
 * checksums; it is the standard CRC and cannot vary).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { Deflate } from 'fflate';

/** Bytes of each independently compressed segment of the input. */
export const SEGMENT_BYTES = 1024 * 1024;
/** fflate's deflate level for compressible segments (zlib's default). */
export const DEFLATE_LEVEL = 6;
/** Segments whose byte entropy reaches this (bits per byte, 8 at most) are stored, not deflated. */
export const STORE_ENTROPY_BITS = 7.5;

/** gzip header: magic, CM=8 (deflate), no flags, MTIME 0, XFL 0, OS 255 (unknown): no time, no host. */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty final stored block (BFINAL=1, BTYPE=00, LEN=0, NLEN=0xffff): ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
/** Largest stored block (LEN is 16 bits). */
const STORED_MAX = 65535;

/** Order-0 entropy of `bytes` in bits per byte (0 for an empty buffer). */
export function byteEntropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  let bits = 0;
  for (let v = 0; v < 256; v++) {
    const c = counts[v]!;
    if (c > 0) {
      const p = c / bytes.length;
      bits -= p * Math.log2(p);
    }
  }
  return bits;
}

/** `bytes` as non-final stored blocks (each byte-aligned by construction). */
function stored(bytes: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += STORED_MAX) {
    const length = Math.min(STORED_MAX, bytes.length - offset);
    const head = Buffer.alloc(5);
    head[0] = 0; // BFINAL=0, BTYPE=00
    head.writeUInt16LE(length, 1);
    head.writeUInt16LE(~length & 0xffff, 3);
    out.push(head, Buffer.from(bytes.buffer, bytes.byteOffset + offset, length));
  }
  return out;
}

/** One segment as a self-contained, byte-aligned, non-final run of deflate blocks. */
export function encodeSegment(segment: Uint8Array): Buffer[] {
  if (segment.length === 0) return [];
  if (byteEntropy(segment) >= STORE_ENTROPY_BITS) return stored(segment);
  const out: Buffer[] = [];
  const deflate = new Deflate({ level: DEFLATE_LEVEL }, (chunk) => {
    if (chunk.length > 0) out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  });
  deflate.push(segment, false);
  deflate.flush(true);
  return out;
}

/** The gzip trailer: CRC-32 and the input size modulo 2^32, both little-endian. */
function trailer(crc: number, size: number): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(crc >>> 0, 0);
  t.writeUInt32LE(size % 2 ** 32, 4);
  return t;
}

/**
 * A Transform from bytes to their reproducible gzip (see the module comment). Back-pressure is the
 * stream's: at most one segment (1 MiB) is held.
 */
export class ReproducibleGzip extends Transform {
  #segment = Buffer.allocUnsafe(SEGMENT_BYTES);
  #filled = 0;
  #crc = 0;
  #size = 0;
  #started = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.#started) {
      this.#started = true;
      this.push(HEADER);
    }
    this.#crc = crc32(chunk, this.#crc);
    this.#size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, SEGMENT_BYTES - this.#filled);
      chunk.copy(this.#segment, this.#filled, offset, offset + n);
      this.#filled += n;
      offset += n;
      if (this.#filled === SEGMENT_BYTES) this.#emitSegment();
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#started) this.push(HEADER);
    this.#emitSegment();
    this.push(FINAL_BLOCK);
    this.push(trailer(this.#crc, this.#size));
    callback();
  }

  #emitSegment(): void {
    if (this.#filled === 0) return;
    // the output may view the segment buffer (stored blocks): hand it over and start a fresh one
    const segment = this.#segment.subarray(0, this.#filled);
    for (const part of encodeSegment(segment)) this.push(part);
    this.#segment = Buffer.allocUnsafe(SEGMENT_BYTES);
    this.#filled = 0;
  }
}
