/**
 * The bench's pull client (bench/pull-client.ts) against a node:http server: it counts every byte of
 * a body sent in many writes, reports the status, and fails on a body cut short or chunked framing
 * (which it does not decode), so a pull row never counts a broken answer as bytes.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pullBody } from '../../bench/pull-client.js';
import { pullBlob } from '../../bench/workloads.js';

let server: Server | undefined;
afterEach(() => server?.close());

async function serving(answer: (res: ServerResponse) => void): Promise<string> {
  server = createServer((_req, res) => answer(res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const MiB = 1024 * 1024;

describe('bench pull client', () => {
  it('counts a Content-Length body written in many pieces', async () => {
    const size = 9 * MiB + 3;
    const base = await serving((res) => {
      res.writeHead(200, { 'Content-Length': size });
      const piece = Buffer.alloc(100_000, 1);
      let left = size;
      const more = (): void => {
        while (left > 0) {
          const n = Math.min(left, piece.length);
          left -= n;
          if (!res.write(piece.subarray(0, n))) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    expect(await pullBody(new URL(`${base}/v2/r/blobs/sha256:a`))).toEqual({ status: 200, bytes: size });
    expect(await pullBlob(base, 'r', 'sha256:a', size)).toBeGreaterThan(0);
  });

  it('reports the status, and pullBlob fails on anything but a 200 of the size', async () => {
    const base = await serving((res) => res.writeHead(404, { 'Content-Length': 2 }).end('no'));
    expect(await pullBody(new URL(`${base}/x`))).toEqual({ status: 404, bytes: 2 });
    await expect(pullBlob(base, 'r', 'sha256:a', 2)).rejects.toThrow(/answered 404/);
  });

  it('fails on a body cut short and on chunked framing', async () => {
    let base = await serving((res) => {
      res.writeHead(200, { 'Content-Length': 1000 });
      res.write('only this', () => res.destroy());
    });
    await expect(pullBody(new URL(`${base}/x`))).rejects.toThrow(/closed after 9 of 1000/);
    server!.close();
    base = await serving((res) => {
      res.write('chunked');
      res.end();
    });
    await expect(pullBody(new URL(`${base}/x`))).rejects.toThrow(/transfer-encoding chunked/);
  });
});
