import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { sendError } from '../../src/routes/errors.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** Log lines at every level, as JSON. */
function capture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string; err?: { code?: string } }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  return { logger: pino({ level: 'trace' }, { write: (l: string) => void lines.push(JSON.parse(l)) }), lines };
}

/**
 * Serves one GET whose handler `send`s, then hands what the send threw to {@link sendError}; the client
 * reads the first bytes and goes away. @returns the error the handler saw
 */
async function downloadCancelled(send: (res: ServerResponse) => Promise<void>, log: pino.Logger): Promise<unknown> {
  let seen: (err: unknown) => void = () => undefined;
  const failed = new Promise<unknown>((resolve) => (seen = resolve));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.log = log;
    send(res).then(
      () => seen(undefined),
      (err: unknown) => {
        sendError(req, res, err);
        seen(err);
      },
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const req = request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/a/blobs/sha256:x`, (res) => {
    res.once('data', () => {
      res.destroy();
      req.destroy();
    });
  });
  req.on('error', () => undefined);
  req.end();
  return failed;
}

it('a write to a response the client closed (ERR_STREAM_DESTROYED) is logged at debug as a client gone, not as an unhandled error', async () => {
  const { logger, lines } = capture();
  const err = await downloadCancelled(async (res) => {
    res.writeHead(200, { 'Content-Length': 1 << 30 });
    res.write(Buffer.alloc(64 * 1024));
    // the client's reset destroys the socket; a write before the response's own 'close' runs fails so
    await new Promise<void>((resolve) => res.socket!.once('close', resolve));
    res.destroy(); // as a handler does on an aborted request: the response is destroyed, its writes fail
    await new Promise<void>((resolve, reject) => res.write(Buffer.alloc(1024), (e) => (e ? reject(e) : resolve())));
  }, logger);
  expect((err as { code?: string }).code).toBe('ERR_STREAM_DESTROYED');
  expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  expect(lines).toContainEqual(expect.objectContaining({ level: 20, msg: 'client closed the connection' }));
});

it('an ERR_STREAM_DESTROYED of something else than the response, the client still there, is the server\'s fault', async () => {
  const { logger, lines } = capture();
  const server = createServer((req, res) => {
    req.log = logger;
    sendError(req, res, Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  expect(status).toBe(500);
  expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'unhandled error' }));
});
