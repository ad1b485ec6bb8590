import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { WebhookPoster } from '../../src/observability/notifications/poster.js';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** Starts `server` on a free loopback port, closed after the test; its base URL (`http://127.0.0.1:PORT`). */
async function serve(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A receiver that records each request's head, body and socket, and answers `status` (never, for 0). */
async function receiver(status: number): Promise<{ url: string; seen: Array<{ req: IncomingMessage; body: string; socket: Socket }> }> {
  const seen: Array<{ req: IncomingMessage; body: string; socket: Socket }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ req, body, socket: req.socket });
      if (status > 0) res.writeHead(status).end('ignored');
    });
  });
  return { url: `${await serve(server)}/hook`, seen };
}

it('posts the body with every header (a repeated name included) and answers the status, over one kept-alive connection', async () => {
  const r = await receiver(202);
  const poster = new WebhookPoster(r.url);
  closers.push(() => poster.close());
  const headers = [['Content-Type', 'application/json'], ['X-Team', 'a'], ['X-Team', 'b']] as const;
  expect(await poster.post(headers, '{"events":["é"]}', new AbortController().signal)).toBe(202);
  expect(await poster.post(headers, '{}', new AbortController().signal)).toBe(202);
  expect(r.seen.map((s) => s.body)).toEqual(['{"events":["é"]}', '{}']);
  expect(r.seen[0]!.req.method).toBe('POST');
  expect(r.seen[0]!.req.url).toBe('/hook');
  expect(r.seen[0]!.req.headers['content-length']).toBe(String(Buffer.byteLength('{"events":["é"]}')));
  expect(r.seen[0]!.req.headers['x-team']).toBe('a, b');
  expect(r.seen[1]!.socket).toBe(r.seen[0]!.socket);
});

it('gives up when the signal aborts (an endpoint that never answers), and reports a refused connection', async () => {
  const r = await receiver(0);
  const poster = new WebhookPoster(r.url);
  closers.push(() => poster.close());
  await expect(poster.post([], 'x', AbortSignal.timeout(200))).rejects.toMatchObject({ name: 'AbortError' });
  const refused = new WebhookPoster('http://127.0.0.1:1/hook');
  await expect(refused.post([], 'x', new AbortController().signal)).rejects.toThrow(/ECONNREFUSED/);
  refused.close();
});

it('takes the status as the answer, as Distribution does: a 200 whose body never ends or is huge is an acknowledgement, not a timeout', async () => {
  // a receiver that answers 200 at once, then streams a body it never finishes (or a huge one)
  let huge = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      if (!huge) return void res.write('working on it...');
      const chunk = Buffer.alloc(64 * 1024, 120);
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
  });
  const poster = new WebhookPoster(`${await serve(server)}/hook`);
  closers.push(() => poster.close());
  expect(await poster.post([], '{"events":[]}', AbortSignal.timeout(1000))).toBe(200);
  huge = true;
  expect(await poster.post([], '{"events":[]}', AbortSignal.timeout(1000))).toBe(200);
});

it('follows a 307 or 308 with the same POST (an http endpoint moved to https answers so): the events reach where the endpoint says', async () => {
  const target = await receiver(202);
  let hops = 0;
  const server = createServer((req, res) => {
    req.resume();
    hops += 1;
    res.writeHead(hops === 1 ? 308 : 307, { Location: hops === 1 ? '/moved' : target.url }).end();
  });
  const poster = new WebhookPoster(`${await serve(server)}/hook`);
  closers.push(() => poster.close());
  const headers = [['Content-Type', 'application/json'], ['Authorization', 'Bearer for-the-first-host'], ['X-Team', 'a']] as const;
  expect(await poster.post(headers, '{"events":[1]}', AbortSignal.timeout(2000))).toBe(202);
  expect(hops).toBe(2);
  expect(target.seen.map((s) => s.body)).toEqual(['{"events":[1]}']);
  expect(target.seen[0]!.req.method).toBe('POST');
  expect(target.seen[0]!.req.headers['x-team']).toBe('a');
  expect(target.seen[0]!.req.headers.authorization).toBeUndefined(); // another origin (port)
});

it('answers the 3xx itself when it is not a 307/308, or when the redirects go on past 5', async () => {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    count += 1;
    res.writeHead(req.url === '/loop' ? 307 : 301, { Location: '/loop' }).end();
  });
  const base = await serve(server);
  const poster = new WebhookPoster(`${base}/hook`);
  closers.push(() => poster.close());
  expect(await poster.post([], '{}', AbortSignal.timeout(2000))).toBe(301);
  const looping = new WebhookPoster(`${base}/loop`);
  closers.push(() => looping.close());
  count = 0;
  expect(await looping.post([], '{}', AbortSignal.timeout(2000))).toBe(307);
  expect(count).toBe(6);
});
