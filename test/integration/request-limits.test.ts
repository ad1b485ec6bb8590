/**
 * Request limits (outside testing): a 413 closes the connection instead of reading the rest of an
 * oversized body; a body that trickles below `http.minbodyrate` for longer than `http.idletimeout` is
 * cut (a body the server itself holds back is not); the header timeout is `http.headertimeout`.
 */
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createHttpServer } from '../../src/server.js';
import type { AppendOptions } from '../../src/storage/driver.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { capturingLogger, eventually, forEachDriver, rawExchange, testConfig } from './harness.js';

const MiB = 1024 * 1024;

/** A socket to the registry at `url`, collecting what the server sends and whether it closed. */
function open(url: string): { socket: Socket; answer: () => string; closed: () => boolean } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  let closed = false;
  socket.on('data', (d) => (answer += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return { socket, answer: () => answer, closed: () => closed };
}

/** Writes `count` bytes of `x`, one every `everyMs`, until the socket closes or `count` is reached. */
async function trickle(socket: Socket, count: number, everyMs: number): Promise<void> {
  for (let i = 0; i < count && !socket.destroyed; i++) {
    socket.write('x');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

forEachDriver((make) => {
  it('a 413 for an oversized manifest closes the connection instead of reading the rest of the body', async () => {
    const { url } = await make();
    const client = open(url);
    client.socket.write(`PUT /v2/big/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${100 * MiB}\r\n\r\n`);
    client.socket.write(Buffer.alloc(5 * MiB, 0x20)); // past the 4 MiB limit; 95 MiB are never sent
    await eventually(async () => client.closed(), 'the server to close the connection', 10_000);
    expect(client.answer()).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.answer()).toMatch(/\r\nConnection: close\r\n/i);
  });

  it('a body that trickles below http.minbodyrate for longer than http.idletimeout is cut; its session stays usable', async () => {
    const { logger, lines } = capturingLogger();
    const { http, url } = await make({ logger, idleTimeout: '300ms', http: { minbodyrate: 1000 } });
    const location = (await http.post('/v2/slow/app/blobs/uploads/').expect(202)).headers.location as string;
    const client = open(url);
    client.socket.write(`PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
    await trickle(client.socket, 200, 50); // 20 bytes/s, one every 50 ms: never idle for 300 ms
    expect(client.closed()).toBe(true);
    await eventually(async () => lines.some((l) => l.msg === 'request body too slow: connection cut'), 'the cut logged');
    const cut = lines.find((l) => l.msg === 'request body too slow: connection cut')!;
    expect(cut).toMatchObject({ level: 40, minBytesPerSecond: 1000 });
    expect((await http.get(location)).status).toBe(204);
  });

  it('an upload at a sane rate is not cut, however long it takes', async () => {
    const { http, url } = await make({ idleTimeout: '300ms', http: { minbodyrate: 1000 } });
    const location = (await http.post('/v2/steady/app/blobs/uploads/').expect(202)).headers.location as string;
    const steady = open(url);
    steady.socket.write(`PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n`);
    for (let i = 0; i < 10; i++) {
      steady.socket.write(Buffer.alloc(400, 0x61)); // 4000 bytes/s over 1 s
      await new Promise((r) => setTimeout(r, 100));
    }
    await eventually(async () => steady.closed(), 'the answer');
    expect(steady.answer()).toMatch(/^HTTP\/1\.1 202 /);
  });
});

it('a body the server holds back (storage slower than the client) is not cut for its rate', async () => {
  class SlowAppendDriver extends MemoryDriver {
    override async append(path: string, source: Readable, options: AppendOptions): Promise<number> {
      async function* slowly(): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
          await new Promise((r) => setTimeout(r, 150)); // the server stops reading; the connection stays busy enough for the idle timeout
          yield chunk as Buffer;
        }
      }
      return super.append(path, Readable.from(slowly()), options);
    }
  }
  // far above what any window reads at this pace: only the excuse for server-side pauses lets it through
  const config = testConfig('inmemory', undefined, { idleTimeout: '300ms', http: { minbodyrate: 100 * MiB } });
  const server = createHttpServer(createApp({ config, storage: new SlowAppendDriver(), logger: pino({ level: 'silent' }) }), config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const body = Buffer.alloc(512 * 1024, 0x62);
    const head = `POST /v2/held/app/blobs/uploads/?digest=sha256:${'0'.repeat(64)} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const answer = await rawExchange(url, Buffer.concat([Buffer.from(head), body]), false);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /); // DIGEST_INVALID: the body was read whole
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

it('http.headertimeout: headers not complete in time are answered 408', async () => {
  const config = testConfig('inmemory', undefined, { http: { headertimeout: '500ms' } });
  const server = createHttpServer(createApp({ config, storage: new MemoryDriver(), logger: pino({ level: 'silent' }) }), config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const client = open(url);
    client.socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await trickle(client.socket, 100, 50); // a header byte every 50 ms, never a blank line
    expect(client.closed()).toBe(true);
    expect(client.answer()).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeLessThan(4000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

it("http.idletimeout does not count the server's own work before a GET's answer (a body that stalls is still cut: above)", async () => {
  class SlowListDriver extends MemoryDriver {
    override async list(path: string): Promise<string[]> {
      await new Promise((r) => setTimeout(r, 400)); // a catalog walk far longer than the idle timeout
      return super.list(path);
    }
  }
  const config = testConfig('inmemory', undefined, { idleTimeout: '200ms' });
  const server = createHttpServer(createApp({ config, storage: new SlowListDriver(), logger: pino({ level: 'silent' }) }), config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = open(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    client.socket.write('GET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n'); // keep-alive
    await eventually(async () => client.answer().includes('"repositories"') || client.closed(), 'the answer or the cut');
    expect(client.answer()).toMatch(/^HTTP\/1\.1 200 /);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
