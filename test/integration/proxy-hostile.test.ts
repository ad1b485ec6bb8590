/**
 * The pull-through cache against an upstream that misbehaves at the HTTP level, from outside: one
 * that accepts a blob GET and never answers its head (a hung or slow-loris upstream) must not hold
 * the client for `proxy.filltimeout` (an hour by default): the upstream's `timeout` bounds the wait
 * for an answer, as it does for manifests and HEADs.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCache } from './proxy-harness.js';

const hung: ServerResponse[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const res of hung.splice(0)) res.destroy();
  for (const close of closers.splice(0)) await close();
});

/** An upstream that answers `/v2/` and then never answers anything else (the request stays open). */
async function hungUpstream(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url === '/v2/') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    hung.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('pull-through cache, hostile upstream', () => {
  it('answers a blob GET within the upstream timeout when the upstream never answers it (not after filltimeout)', async () => {
    const upstream = await hungUpstream();
    const cache = await startCache([{ name: 'up', url: upstream.url, prefix: 'up', default: true, timeout: '1s' }]);
    const digest = `sha256:${'ab'.repeat(32)}`;
    const started = Date.now();
    const res = await cache.http.get(`/v2/up/library/x/blobs/${digest}`).timeout(8000);
    expect(res.status).toBe(504);
    expect((res.body as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(6000);
    expect(upstream.seen.some((r) => r.startsWith('GET /v2/library/x/blobs/'))).toBe(true);
  });
});

describe('pull-through cache, hostile upstream: ranges', () => {
  it('answers a ranged GET of an uncached blob within the upstream timeout when the upstream never answers it', async () => {
    const upstream = await hungUpstream();
    const cache = await startCache([{ name: 'up', url: upstream.url, prefix: 'up', default: true, timeout: '1s' }]);
    const started = Date.now();
    const res = await cache.http.get(`/v2/up/library/x/blobs/sha256:${'cd'.repeat(32)}`).set('Range', 'bytes=0-99').timeout(8000);
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(6000);
  });
});
