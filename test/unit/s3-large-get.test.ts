/**
 * The large GET's HTTP handling against a loopback server answering with fixed bytes: what it streams
 * (a plain 200/206 of the expected length, across many reads), and what it hands back to the SDK
 * (LargeGetFallback: an error status, chunked framing, a wrong length) or fails (a body cut short).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageUnavailableError } from '../../src/storage/driver-errors.js';
import type { DirectSend } from '../../src/storage/file-range-stream.js';
import { largeGet, LargeGetFallback, socketReads } from '../../src/storage/s3-large-get.js';

let server: Server | undefined;
afterEach(() => server?.close());

/** A server that answers every connection with `head` then `body`, and closes. */
async function answering(head: string, body: Buffer = Buffer.alloc(0)): Promise<URL> {
  server = createServer((socket) => {
    socket.once('data', () => {
      socket.write(head);
      socket.end(body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=x`);
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('largeGet', () => {
  it('streams a 200 of the expected length, byte for byte', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    body.write('end', body.length - 3);
    const url = await answering(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nETag: "e"\r\n\r\n`, body);
    expect((await drain(await largeGet({ url, length: body.length }, 's3'))).equals(body)).toBe(true);
  });

  it('asks a range and takes a 206', async () => {
    const url = await answering('HTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\n\r\n', Buffer.from('abcd'));
    expect(String(await drain(await largeGet({ url, range: { start: 10, end: 13 }, length: 4 }, 's3')))).toBe('abcd');
  });

  it.each([
    ['an error status', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 10],
    ['chunked framing', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 10],
    ['another length', 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', 10],
    ['a 200 to a range', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 10],
  ])('falls back to the SDK on %s', async (label, head, length) => {
    const url = await answering(head);
    const range = label === 'a 200 to a range' ? { start: 0, end: 9 } : undefined;
    await expect(largeGet({ url, range, length }, 's3')).rejects.toBeInstanceOf(LargeGetFallback);
  });

  it('falls back when nothing listens, and for https', async () => {
    const url = await answering('');
    server!.close();
    await expect(largeGet({ url, length: 1 }, 's3')).rejects.toBeInstanceOf(LargeGetFallback);
    await expect(largeGet({ url: new URL('https://s3.amazonaws.com/b/k'), length: 1 }, 's3')).rejects.toBeInstanceOf(LargeGetFallback);
  });

  it('fails the stream with StorageUnavailableError when the body ends short', async () => {
    const url = await answering('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', Buffer.from('only this'));
    await expect(drain(await largeGet({ url, length: 100 }, 's3'))).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});

describe('largeGet sendTo', () => {
  it.each([1, 20])('sends the body byte for byte to a slow destination, reading into the send buffers (%i at once)', async (concurrent) => {
    const body = Buffer.alloc(5 * 1024 * 1024 + 13);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 12)) & 0xff;
    const url = await answering(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, body);
    Object.assign(socketReads, { inPlace: 0, copied: 0 });
    const sent = await Promise.all(
      Array.from({ length: concurrent }, async () => {
        const stream = (await largeGet({ url, length: body.length }, 's3')) as Readable & DirectSend;
        const received: Buffer[] = [];
        const dest = new Writable({
          highWaterMark: 64 * 1024,
          write(chunk: Buffer, _enc, cb) {
            received.push(Buffer.from(chunk)); // the sender reuses its buffers once this calls back
            setImmediate(cb);
          },
        });
        await stream.sendTo(dest);
        return Buffer.concat(received);
      }),
    );
    for (const s of sent) expect(s.equals(body)).toBe(true);
    expect(socketReads.copied).toBeLessThan(socketReads.inPlace / 20); // the reads land in the send buffers (all but the first after each pause, at most 16 KiB)
  });
});
