/**
 * The reproducible gzip (src/build/gzip.ts): round trips through zlib's gunzip, and golden digests
 * that pin its exact bytes. If a golden digest changes, every layer wharf build ever made changes
 * digest: that is a breaking change, never a test to update in passing.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { byteEntropy, ReproducibleGzip, SEGMENT_BYTES } from '../../src/build/gzip.js';

/** Deterministic pseudo-random bytes (xorshift32), incompressible like model weights. */
function noise(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Deterministic compressible text. */
function text(size: number): Buffer {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const line = `line ${i}: the quick brown fox ${i % 7} jumps over the lazy dog ${(i * 31) % 97}\n`;
    lines.push(line);
    total += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

async function gzip(data: Buffer, pieces = 3): Promise<Buffer> {
  const step = Math.max(1, Math.ceil(data.length / pieces));
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += step) chunks.push(data.subarray(i, i + step));
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(new ReproducibleGzip())) out.push(c as Buffer);
  return Buffer.concat(out);
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ReproducibleGzip', () => {
  const inputs = {
    empty: Buffer.alloc(0),
    text: text(2 * SEGMENT_BYTES + 12345),
    noise: noise(SEGMENT_BYTES + 777),
    mixed: Buffer.concat([text(SEGMENT_BYTES / 2), noise(SEGMENT_BYTES), text(1000)]),
  };

  it('round trips through zlib gunzip, whatever the chunking', async () => {
    for (const [name, data] of Object.entries(inputs)) {
      for (const pieces of [1, 7]) {
        const z = await gzip(data, pieces);
        expect(gunzipSync(z).equals(data), name).toBe(true);
      }
    }
  });

  it('gives the same bytes whatever the chunking of the input', async () => {
    for (const data of Object.values(inputs)) expect(sha256(await gzip(data, 1))).toBe(sha256(await gzip(data, 13)));
  });

  it('stores incompressible segments and deflates compressible ones', async () => {
    expect(byteEntropy(inputs.noise)).toBeGreaterThan(7.9);
    expect(byteEntropy(inputs.text)).toBeLessThan(6);
    const noisy = await gzip(inputs.noise);
    expect(noisy.length).toBeGreaterThan(inputs.noise.length);
    expect(noisy.length).toBeLessThan(inputs.noise.length + 200);
    expect((await gzip(inputs.text)).length).toBeLessThan(inputs.text.length / 4);
  });

  it('matches the golden digests (the same bytes on every Node.js version)', async () => {
    const got = Object.fromEntries(await Promise.all(Object.entries(inputs).map(async ([name, data]) => [name, sha256(await gzip(data))])));
    expect(got).toEqual({
      empty: 'sha256:ac73670af3abed54ac6fb4695131f4099be9fbe39d6076c5d0264a6bbdae9d83',
      text: 'sha256:f30c0f7d8c031639fe25016765770040bb541d882788fff67caebfcb06e4443e',
      noise: 'sha256:0d3eae8f20e7fcd05ab581d614e75a3549b2b8628e0face6a646ba6663e07e6d',
      mixed: 'sha256:3e98237b4b4532b901f0334b725a78b4923540241af06f97ec7651cae14454bf',
    });
  });
});
