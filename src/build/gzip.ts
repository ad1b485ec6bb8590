/**
 * The build helper's one compressor: gzip (RFC 1952) whose bytes depend on nothing but the input,
 * on every Node.js version, so the same layer tar always gives the same layer digest.
 *
 * Node's zlib is not usable for that: its deflate (Chromium's zlib fork) changes with Node releases,
 * so the same tar gzips to different bytes (DESIGN.md "The gzip trap"). Deflate here is fflate,
 * pinned to an exact version in package.json, at a fixed level; golden digests in
 * test/unit/build-gzip.test.ts fail if any of it moves.
 *
 * Shape (BGZF's, the blocked gzip of genomics tools): the input is cut at fixed 1 MiB boundaries
 * and each segment is its own gzip member (RFC 1952 section 2.2: a gzip file is a series of
 * members; Go's `compress/gzip`, which Docker, containerd and skopeo read layers with, zlib and
 * pigz read them all). Segments are independent: no back-references across them, 18 bytes of
 * header and trailer each. A segment whose bytes look incompressible (order-0 entropy of at least
 * {@link STORE_ENTROPY_BITS} bits per byte: model weights, already-compressed archives) is written
 * as stored blocks instead: as reproducible (a pure function of the bytes) and far faster than
 * deflating data that will not shrink. The CRC-32 is zlib's (`zlib.crc32`, which only checksums;
 * it is the standard CRC and cannot vary).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { deflateSync } from 'fflate';

/** Bytes of each independently compressed segment of the input. */
export const SEGMENT_BYTES = 1024 * 1024;
/** fflate's deflate level for compressible segments (zlib's default). */
export const DEFLATE_LEVEL = 6;
/** Segments whose byte entropy reaches this (bits per byte, 8 at most) are stored, not deflated. */
export const STORE_ENTROPY_BITS = 7.5;

/** gzip header: magic, CM=8 (deflate), no flags, MTIME 0, XFL 0, OS 255 (unknown): no time, no host. */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
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

/** `bytes` as stored blocks, the last one final (BFINAL=1). */
function stored(bytes: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += STORED_MAX) {
    const length = Math.min(STORED_MAX, bytes.length - offset);
    const head = Buffer.alloc(5);
    head[0] = offset + length >= bytes.length ? 1 : 0; // BFINAL, BTYPE=00
    head.writeUInt16LE(length, 1);
    head.writeUInt16LE(~length & 0xffff, 3);
    out.push(head, Buffer.from(bytes.buffer, bytes.byteOffset + offset, length));
  }
  return out;
}

/** One segment (1 MiB at most) as a whole gzip member. */
export function encodeSegment(segment: Uint8Array): Buffer[] {
  const body = segment.length > 0 && byteEntropy(segment) >= STORE_ENTROPY_BITS ? stored(segment) : [Buffer.from(deflateSync(segment, { level: DEFLATE_LEVEL }))];
  return [HEADER, ...body, trailer(crc32(segment), segment.length)];
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
  #members = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
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
    if (this.#filled > 0 || this.#members === 0) this.#emitSegment();
    callback();
  }

  #emitSegment(): void {
    // stored blocks view the segment buffer: hand it over and start a fresh one
    const segment = this.#segment.subarray(0, this.#filled);
    for (const part of encodeSegment(segment)) this.push(part);
    this.#members++;
    this.#segment = Buffer.allocUnsafe(SEGMENT_BYTES);
    this.#filled = 0;
  }
}
