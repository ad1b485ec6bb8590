/**
 * Shared sends (src/storage/shared-sends.ts) against a loopback server answering GETs and ranged GETs
 * of fixed bytes, read through the S3 driver's large GET: sends asked together cost one GET and each
 * gets every byte; a member that stops reading, closes, or is read as a stream does not hold or break
 * the others and still gets its bytes; a send asked after the group started reads on its own.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { largeGet } from '../../src/storage/s3-large-get.js';
import { SharedSends, type GroupSource } from '../../src/storage/shared-sends.js';

const body = Buffer.alloc(6 * 1024 * 1024 + 5);
for (let i = 0; i < body.length; i++) body[i] = (i * 13 + (i >> 10)) & 0xff;

let server: Server | undefined;
afterEach(() => server?.close());

/** A server answering `GET` with `body` (or the asked `Range` of it, as a 206); counts the requests. */
async function store(): Promise<{ url: URL; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((socket) => {
    socket.once('data', (data) => {
      const range = /range: bytes=(\d+)-(\d+)/i.exec(String(data));
      requests.push(range ? `${range[1]}-${range[2]}` : 'whole');
      const part = range ? body.subarray(Number(range[1]), Number(range[2]) + 1) : body;
      socket.write(`HTTP/1.1 ${range ? '206 Partial Content' : '200 OK'}\r\nContent-Length: ${part.length}\r\n\r\n`);
      socket.end(part);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/key`), requests };
}

function source(url: URL): GroupSource {
  return {
    length: body.length,
    whole: () => largeGet({ url, length: body.length }, 's3'),
    from: (start) => largeGet({ url, range: { start, end: body.length - 1 }, length: body.length - start }, 's3'),
  };
}

/** A destination keeping copies of what it is given (the sender reuses its buffers); `delayMs` before each write calls back. */
function collector(delayMs = (_n: number) => 0): Writable & { received: () => Buffer } {
  const chunks: Buffer[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      setTimeout(cb, delayMs(chunks.length));
    },
  });
  return Object.assign(dest, { received: () => Buffer.concat(chunks) });
}

describe('SharedSends', () => {
  it('sends asked together share one GET, and each destination gets every byte', async () => {
    const { url, requests } = await store();
    const shared = new SharedSends();
    const views = await Promise.all(Array.from({ length: 5 }, () => shared.open('k', source(url))));
    const dests = views.map(() => collector());
    await Promise.all(views.map((view, i) => view.sendTo(dests[i]!)));
    expect(requests).toEqual(['whole']);
    for (const dest of dests) expect(dest.received().equals(body)).toBe(true);
  });

  it('a destination that stops taking bytes goes on alone from where it was; the others do not wait for it', async () => {
    const { url, requests } = await store();
    const shared = new SharedSends(20);
    const views = await Promise.all(Array.from({ length: 3 }, () => shared.open('k', source(url))));
    const slow = collector((n) => (n === 2 ? 1500 : 0));
    const fast = [collector(), collector()];
    const finished: number[] = [];
    const start = Date.now();
    const sends = [slow, ...fast].map((dest, i) => views[i]!.sendTo(dest).then(() => finished.push(Date.now() - start)));
    await Promise.all(sends);
    expect(slow.received().equals(body)).toBe(true);
    for (const dest of fast) expect(dest.received().equals(body)).toBe(true);
    expect(requests[0]).toBe('whole');
    expect(requests.length).toBe(2); // the slow one's own read of the rest
    expect(requests[1]).toMatch(new RegExp(`-${body.length - 1}$`));
    expect(finished[0]).toBeLessThan(1000); // the others finished while it still waited
  });

  it('a destination that closes fails its own send only', async () => {
    const { url } = await store();
    const shared = new SharedSends();
    const views = await Promise.all(Array.from({ length: 3 }, () => shared.open('k', source(url))));
    const gone = collector();
    const others = [collector(), collector()];
    const goneSend = views[0]!.sendTo(gone);
    setTimeout(() => gone.destroy(), 1);
    const sends = others.map((dest, i) => views[i + 1]!.sendTo(dest));
    await expect(goneSend).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await Promise.all(sends);
    for (const dest of others) expect(dest.received().equals(body)).toBe(true);
  });

  it('a send asked after the first sender closed, before the group started, gets every byte from the one GET', async () => {
    const { url, requests } = await store();
    const shared = new SharedSends();
    const [first, second] = await Promise.all([shared.open('k', source(url)), shared.open('k', source(url))]);
    const gone = collector();
    const goneSend = first!.sendTo(gone).then(() => undefined, (err: unknown) => err);
    gone.destroy();
    await new Promise((resolve) => process.nextTick(resolve)); // its close is seen before the group's send starts
    const dest = collector();
    await second!.sendTo(dest);
    expect(await goneSend).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(dest.received().equals(body)).toBe(true);
    expect(requests).toEqual(['whole']);
  });

  it('a view read as a stream reads on its own; a send asked after the group started too', async () => {
    const { url, requests } = await store();
    const shared = new SharedSends();
    const [streamed, sent] = await Promise.all([shared.open('k', source(url)), shared.open('k', source(url))]);
    const chunks: Buffer[] = [];
    for await (const chunk of streamed as Readable) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    const dest = collector();
    const sending = sent!.sendTo(dest);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = await shared.open('k', source(url));
    const lateDest = collector();
    await Promise.all([sending, late.sendTo(lateDest)]);
    expect(dest.received().equals(body)).toBe(true);
    expect(lateDest.received().equals(body)).toBe(true);
    expect(requests).toEqual(['whole', `0-${body.length - 1}`, 'whole']); // the group, the streamed view's own read, the late send's group
  });
});
