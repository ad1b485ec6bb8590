/**
 * Layers past S3's part limit (distribution#4572: a 100 GiB layer needs more than 10,000 parts of a fixed
 * size). This machine cannot hold 100 GiB, so the limit is lowered to 100 parts (`storage.s3.maxparts`)
 * with 5 MiB chunks: a fixed 5 MiB part size would stop at 500 MiB. A real `wharf serve` on Ceph RGW
 * then takes a 2 GiB streamed push (one PATCH of unknown length) and a 2 GiB chunked push (5 MiB
 * PATCHes), both generated on the fly, and both pull back with the same sha256; the stored objects are
 * multipart objects of at most 100 parts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3, wharfS3Env, type RunningS3 } from '../support/s3.js';
import { once, startWharf, type WharfServer } from './helpers.js';

const MiB = 1024 * 1024;
const SIZE = 2048 * MiB;
const CHUNK = 5 * MiB;
const BLOCK = randomBytes(MiB);

/** Bytes `[offset, offset + length)` of blob `seed`: a random block repeated, each MiB stamped with its index and the seed. */
function* bytesOf(seed: number, offset: number, length: number): Generator<Buffer> {
  for (let at = offset; at < offset + length; ) {
    const index = Math.floor(at / MiB);
    const block = Buffer.from(BLOCK);
    block.writeUInt32BE(index, 0);
    block.writeUInt32BE(seed, 4);
    const from = at - index * MiB;
    const to = Math.min(MiB, offset + length - index * MiB);
    yield block.subarray(from, to);
    at += to - from;
  }
}

function digestOf(seed: number): string {
  const hash = createHash('sha256');
  for (const b of bytesOf(seed, 0, SIZE)) hash.update(b);
  return `sha256:${hash.digest('hex')}`;
}

/** Sends `body` with `method` to `url` (chunked transfer encoding unless `length`); resolves to status and headers. */
function send(url: string, method: string, body: Readable | undefined, headers: Record<string, string | number> = {}): Promise<{ status: number; location?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, text }));
    });
    req.on('error', reject);
    if (body) pipeline(body, req).catch(reject);
    else req.end();
  });
}

describe('layers past the part limit on S3 (maxparts 100)', () => {
  let s3: RunningS3 | undefined;
  let wharf: WharfServer | undefined;
  const setup = once(async () => {
    s3 = await startS3({ sizeGiB: 24 });
    wharf = await startWharf({
      storageEnv: wharfS3Env(s3, 'limit', { WHARF_STORAGE_S3_MAXPARTS: '100', WHARF_STORAGE_S3_CHUNKSIZE: String(CHUNK) }),
    });
    return { s3, wharf };
  });

  afterAll(async () => {
    await wharf?.dispose();
    await s3?.stop();
  });

  /** Pulls blob `digest` and checks its size and sha256, and that its object on the store has 2-100 parts. */
  async function pullAndCheck(server: WharfServer, store: RunningS3, digest: string): Promise<void> {
    const res = await fetch(`${server.url}/v2/big/layer/blobs/${digest}`);
    expect(res.status).toBe(200);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
    expect(size).toBe(SIZE);
    expect(`sha256:${hash.digest('hex')}`).toBe(digest);
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: store.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: store.accessKey, secretAccessKey: store.secretKey },
    });
    try {
      const pointer = await client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: `limit/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}` }));
      const target = pointer.Metadata?.['wharf-object'];
      expect(target, 'the blob is a pointer to the completed multipart upload').toBeDefined();
      // a multipart object's ETag is "<md5 of the parts' md5s>-<number of parts>"
      const object = await client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: target }));
      const parts = Number(/-(\d+)"?$/.exec(object.ETag ?? '')?.[1]);
      expect(parts, `ETag ${object.ETag}`).toBeGreaterThan(1);
      expect(parts).toBeLessThanOrEqual(100);
    } finally {
      client.destroy();
    }
  }

  // 2 GiB through RGW and back takes 1-4 minutes here, depending on what else the 2 cores run
  it('a 2 GiB streamed push (one PATCH of unknown length) succeeds and pulls back verified', { timeout: 900_000 }, async () => {
    const { s3: store, wharf: server } = await setup();
    const digest = digestOf(1);
    const opened = await send(`${server.url}/v2/big/layer/blobs/uploads/`, 'POST', undefined, { 'Content-Length': 0 });
    expect(opened.status, opened.text).toBe(202);
    const patched = await send(`${server.url}${opened.location}`, 'PATCH', Readable.from(bytesOf(1, 0, SIZE)), { 'Content-Type': 'application/octet-stream' });
    expect(patched.status, patched.text).toBe(202);
    const url = new URL(`${server.url}${patched.location}`);
    url.searchParams.set('digest', digest);
    const done = await send(url.href, 'PUT', undefined, { 'Content-Length': 0 });
    expect(done.status, `${done.text}\n${server.logs().slice(-3000)}`).toBe(201);
    await pullAndCheck(server, store, digest);
  });

  it('a 2 GiB chunked push (5 MiB PATCHes) succeeds and pulls back verified', { timeout: 900_000 }, async () => {
    const { s3: store, wharf: server } = await setup();
    const digest = digestOf(2);
    const opened = await send(`${server.url}/v2/big/layer/blobs/uploads/`, 'POST', undefined, { 'Content-Length': 0 });
    let location = opened.location!;
    for (let start = 0; start < SIZE; start += CHUNK) {
      const length = Math.min(CHUNK, SIZE - start);
      const res = await send(`${server.url}${location}`, 'PATCH', Readable.from(bytesOf(2, start, length)), {
        'Content-Type': 'application/octet-stream',
        'Content-Length': length,
        'Content-Range': `${start}-${start + length - 1}`,
      });
      expect(res.status, `PATCH at ${start}: ${res.text}`).toBe(202);
      location = res.location!;
    }
    const url = new URL(`${server.url}${location}`);
    url.searchParams.set('digest', digest);
    const done = await send(url.href, 'PUT', undefined, { 'Content-Length': 0 });
    expect(done.status, `${done.text}\n${server.logs().slice(-3000)}`).toBe(201);
    await pullAndCheck(server, store, digest);
  });
});
