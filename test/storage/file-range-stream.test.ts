/**
 * The filesystem driver's blob reader (FileRangeStream): exact bytes of ranges across its 1 MiB chunk
 * edges, read as a Readable and sent with reused buffers (sendTo), buffers never overwritten before the
 * destination released them, the file handle closed when the destination goes away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canSendDirect, FileRangeStream } from '../../src/storage/file-range-stream.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';

const MiB = 1024 * 1024;
const SIZE = 3 * MiB + 17;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A destination that hashes each chunk only when it calls back, a tick later (as a slow socket would). */
function lateHashingSink(): { sink: Writable; digest: () => string; bytes: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      setImmediate(() => {
        hash.update(chunk);
        bytes += chunk.length;
        callback();
      });
    },
  });
  return { sink, digest: () => hash.digest('hex'), bytes: () => bytes };
}

describe('FileRangeStream', () => {
  let root: string;
  let content: Buffer;
  let driver: FilesystemDriver;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'wharf-range-'));
    content = randomBytes(SIZE);
    await writeFile(join(root, 'blob'), content);
    driver = new FilesystemDriver(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const ranges: Array<[number, number | undefined]> = [
    [0, undefined],
    [MiB - 1, 2],
    [MiB, MiB],
    [MiB - 1, MiB + 2],
    [2 * MiB + 5, undefined],
    [SIZE - 1, 1],
  ];

  it.each(ranges)('reads offset %i, length %s exactly, as a Readable and through sendTo', async (offset, length) => {
    const expected = sha256(content.subarray(offset, length === undefined ? undefined : offset + length));
    const readable = await driver.reader('/blob', { offset, length });
    const chunks: Buffer[] = [];
    for await (const chunk of readable) chunks.push(chunk as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(expected);

    const sent = await driver.reader('/blob', { offset, length });
    expect(canSendDirect(sent)).toBe(true);
    const { sink, digest } = lateHashingSink();
    if (canSendDirect(sent)) await sent.sendTo(sink);
    expect(digest()).toBe(expected);
  });

  it('closes the file handle and rejects when the destination goes away mid-range', async () => {
    const handle = await open(join(root, 'blob'), 'r');
    const stream = new FileRangeStream(handle, 0, SIZE);
    let writes = 0;
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        writes++;
        callback();
        sink.destroy();
      },
    });
    await expect(stream.sendTo(sink)).rejects.toThrow();
    expect(writes).toBeLessThan(SIZE / MiB);
    await expect.poll(() => handle.fd).toBe(-1);
  });

  it('closes the file handle when a Readable consumer destroys it early', async () => {
    const handle = await open(join(root, 'blob'), 'r');
    const stream = new FileRangeStream(handle, 0, SIZE);
    for await (const _chunk of stream) break;
    await expect.poll(() => handle.fd).toBe(-1);
  });

  it('fails when the file is shorter than the range', async () => {
    const handle = await open(join(root, 'blob'), 'r');
    const stream = new FileRangeStream(handle, SIZE - 10, 20);
    const { sink } = lateHashingSink();
    await expect(stream.sendTo(sink)).rejects.toThrow(/before the requested range/);
    await expect.poll(() => handle.fd).toBe(-1);
  });

  describe('over HTTP', () => {
    let server: Server;
    let port: number;
    const handles: Array<{ fd: number }> = [];

    beforeAll(async () => {
      server = createServer((_req, res) => {
        void (async () => {
          const handle = await open(join(root, 'blob'), 'r');
          handles.push(handle);
          res.setHeader('Content-Length', SIZE);
          await new FileRangeStream(handle, 0, SIZE).sendTo(res);
        })().catch(() => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const fetchDigest = (): Promise<string> =>
      new Promise((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          const hash = createHash('sha256');
          res.on('data', (chunk: Buffer) => hash.update(chunk));
          res.on('end', () => resolve(hash.digest('hex')));
          res.on('error', reject);
        }).on('error', reject);
      });

    it('gives 16 concurrent readers of one file identical, complete bytes', async () => {
      const digests = await Promise.all(Array.from({ length: 16 }, fetchDigest));
      expect(new Set(digests)).toEqual(new Set([sha256(content)]));
    });

    it('closes the file handle when the client aborts mid-body', async () => {
      handles.length = 0;
      await new Promise<void>((resolve, reject) => {
        const req = get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.on('close', resolve);
        req.setTimeout(10_000, () => reject(new Error('no body')));
      });
      expect(handles).toHaveLength(1);
      await expect.poll(() => handles[0]!.fd, { timeout: 5000 }).toBe(-1);
    });
  });
});
