import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SLAB_BYTES, socketGets } from '../../src/client/socket-get.js';
import { Transport } from '../../src/client/transport.js';

const servers: (Server | TcpServer)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((done) => s.close(done));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server speaking raw bytes: `answer` is written, then the connection is closed (or kept when `hang`). */
async function serveRaw(answer: Buffer, hang = false): Promise<string> {
  const server = createTcpServer((socket) => {
    socket.once('data', () => (hang ? socket.write(answer) : socket.end(answer)));
    socket.on('error', () => undefined);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function bytesOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('large-body GETs over plain HTTP (socket-get.ts)', () => {
  it('reads a body of many slabs byte for byte through the socket, not through Node\'s client, with the answer\'s headers', async () => {
    const blob = randomBytes(5 * SLAB_BYTES + 12345);
    let seen: IncomingMessage['headers'] = {};
    const url = await serve((req, res) => {
      seen = req.headers;
      res.setHeader('docker-content-digest', 'sha256:x');
      res.setHeader('x-twice', ['a', 'b']);
      res.end(blob);
    });
    const before = { ...socketGets };
    const t = new Transport();
    const res = await t.send({ method: 'GET', url: `${url}/v2/r/blobs/x?ns=a`, headers: { Authorization: 'Bearer t' }, largeBody: true });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(blob.length));
    expect(res.headers['docker-content-digest']).toBe('sha256:x');
    expect(res.headers['x-twice']).toBe('a, b');
    expect(sha(await bytesOf(res.body))).toBe(sha(blob));
    expect(seen.authorization).toBe('Bearer t');
    expect(seen['user-agent']).toBe('wharf');
    expect(socketGets.bodies - before.bodies).toBe(1);
    expect(socketGets.bytes - before.bytes).toBe(blob.length);
    expect(socketGets.fallbacks).toBe(before.fallbacks);
    await t.close();
  });

  it('pauses the socket while the reader does not read, and loses nothing', async () => {
    const blob = randomBytes(8 * 1024 * 1024);
    const url = await serve((_req, res) => res.end(blob));
    const t = new Transport();
    const res = await t.send({ method: 'GET', url, largeBody: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(res.body.readableLength).toBeLessThanOrEqual(SLAB_BYTES + 256 * 1024); // its buffer, not the whole body
    expect(sha(await bytesOf(res.body))).toBe(sha(blob));
    await t.close();
  });

  it('fails the body with ECONNRESET when the connection closes before Content-Length bytes came', async () => {
    const url = await serveRaw(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n'), randomBytes(400)]));
    const t = new Transport();
    const res = await t.send({ method: 'GET', url, largeBody: true });
    await expect(bytesOf(res.body)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await t.close();
  });

  it('ends a body without Content-Length at the close, and reads error answers and redirects as Node\'s client does', async () => {
    const url = await serveRaw(Buffer.from('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
    const t = new Transport();
    expect((await bytesOf((await t.send({ method: 'GET', url, largeBody: true })).body)).toString()).toBe('until the end');
    const target = await serve((_req, res) => res.end('moved here'));
    const api = await serve((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="x"' }).end('{"errors":[]}');
      } else res.writeHead(307, { location: `${target}/blob` }).end();
    });
    const missing = await t.send({ method: 'GET', url: `${api}/missing`, largeBody: true });
    expect(missing.status).toBe(404);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="x"');
    expect((await bytesOf(missing.body)).toString()).toBe('{"errors":[]}');
    const moved = await t.send({ method: 'GET', url: `${api}/redirected`, largeBody: true });
    expect(moved.url).toBe(`${target}/blob`);
    expect((await bytesOf(moved.body)).toString()).toBe('moved here');
    await t.close();
  });

  it('sends the GET again through Node\'s client when the answer is chunked', async () => {
    const url = await serve((_req, res) => {
      res.write('chunked ');
      setTimeout(() => res.end('body'), 10);
    });
    const before = socketGets.fallbacks;
    const t = new Transport();
    const res = await t.send({ method: 'GET', url, largeBody: true });
    expect((await bytesOf(res.body)).toString()).toBe('chunked body');
    expect(socketGets.fallbacks).toBe(before + 1);
    await t.close();
  });

  it('maps a refused connection, an abort and an idle answer to the transport\'s errors', async () => {
    const closed = await serve(() => undefined);
    servers.pop()!.close();
    const t = new Transport({ timeoutSeconds: 0.2 });
    await expect(t.send({ method: 'GET', url: closed, largeBody: true })).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
    const hung = await serveRaw(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'), true);
    const res = await t.send({ method: 'GET', url: hung, largeBody: true });
    await expect(bytesOf(res.body)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const shared = new AbortController();
    const small = await serve((_req, res) => res.end('x'));
    for (let i = 0; i < 3; i++) await bytesOf((await t.send({ method: 'GET', url: small, largeBody: true, signal: shared.signal })).body);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0); // a long-lived signal (a command's) keeps no listener per GET
    const controller = new AbortController();
    const aborted = t.send({ method: 'GET', url: await serveRaw(Buffer.alloc(0), true), largeBody: true, signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await t.close();
  });
});
