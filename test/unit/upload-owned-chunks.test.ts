/**
 * Which appends give their chunks to the driver (AppendOptions.ownChunks, src/registry/uploads.ts): a
 * request body's chunks (node's HTTP parser makes a Buffer of its own for each, nothing reads it after
 * the append) may be freed by the driver once copied; any other stream's may not (a pull-through
 * fill's or an image file's chunks can be read elsewhere, and a client response is an
 * IncomingMessage too).
 */
import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RepositoryName } from '../../src/oci/reference.js';
import { Registry } from '../../src/registry/registry.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const name = 'team/app' as RepositoryName;
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

function setup() {
  const driver = new MemoryDriver();
  const append = vi.spyOn(driver, 'append');
  return { registry: new Registry(driver), append };
}

/** A loopback server that hands each request to `handle` and answers 204 once it is done. */
async function serve(handle: (req: IncomingMessage) => Promise<unknown>): Promise<number> {
  const server = createServer((req, res) => void handle(req).then(() => res.writeHead(204).end()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** Sends `body` to `port` and resolves with the response (its body not read). */
async function send(port: number, body: Buffer): Promise<IncomingMessage> {
  const req = request({ port, host: '127.0.0.1', method: 'PATCH' });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return res;
}

describe('appends that give their chunks to the driver', () => {
  it('a request body’s', async () => {
    const { registry, append } = setup();
    const session = await registry.uploads.create(name);
    const port = await serve((req) => registry.uploads.append(name, session.id, req));
    (await send(port, Buffer.alloc(300_000, 1))).resume();
    await vi.waitFor(() => expect(append).toHaveBeenCalledTimes(1));
    expect(append.mock.calls[0]![2]).toMatchObject({ ownChunks: true });
    expect((await registry.uploads.status(name, session.id)).offset).toBe(300_000);
  });

  it('not a stream of buffers the caller made, nor a client response', async () => {
    const { registry, append } = setup();
    const session = await registry.uploads.create(name);
    await registry.uploads.append(name, session.id, Readable.from([Buffer.alloc(1000, 2)]));
    const port = await serve(async () => undefined);
    const response = await send(port, Buffer.alloc(10));
    await registry.uploads.append(name, session.id, response);
    expect(append.mock.calls.map((call) => call[2].ownChunks)).toEqual([false, false]);
  });
});
