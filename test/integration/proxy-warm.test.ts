/**
 * Prefetch: `POST /admin/v1/cache/warm` and `wharf cache warm` fetch images into the cache ahead
 * of time (the children of the platforms asked, with their blobs); `GET /admin/v1/cache` reports
 * the counters a metrics exporter hooks into.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cacheWarm } from '../../src/cli/cache.js';
import { expectError, MEDIA, pushIndex, raw, sha256 } from './harness.js';
import { startCache, startUpstream } from './proxy-harness.js';
import { startAuthRegistry } from './auth-harness.js';

const upstreamOf = (url: string) => ({ name: 'hub', url, prefix: 'dockerhub', default: true, namespaces: ['docker.io'] });

describe('pull-through prefetch', () => {
  it('warms the images of the platforms asked, and the pulls that follow ask the upstream nothing', async () => {
    const upstream = await startUpstream();
    const { index, children } = await pushIndex(upstream.http, 'library/python', '3.12', 2, MEDIA.dockerList);
    const cache = await startCache([upstreamOf(upstream.url)]);
    const warmed = await cache.http.post('/admin/v1/cache/warm').send({ references: ['python:3.12'], platforms: ['linux/amd64'] });
    expect(warmed.status, warmed.text).toBe(200);
    const amd64 = children[0]!;
    expect(warmed.body.results).toEqual([
      { reference: 'python:3.12', upstream: 'hub', repository: 'dockerhub/library/python', digest: index.digest, manifests: 2, blobs: 2, fetched: 2, bytes: amd64.config.size + amd64.layers[0]!.size },
    ]);
    const seen = upstream.requests.length;
    for (const path of ['manifests/3.12', `manifests/${amd64.digest}`]) expect((await cache.http.get(`/v2/library/python/${path}`)).headers['cache-status']).toBe('Wharf; hit');
    for (const b of [amd64.config, amd64.layers[0]!]) expect(sha256((await raw(cache.http.get(`/v2/library/python/blobs/${b.digest}`))).body)).toBe(b.digest);
    expect(upstream.requests.length).toBe(seen);
    // the other platform was not fetched
    expect((await cache.http.get(`/v2/library/python/manifests/${children[1]!.digest}`)).headers['cache-status']).toBe('Wharf; fwd=miss; stored');
    const again = await cache.http.post('/admin/v1/cache/warm').send({ references: ['dockerhub/library/python:3.12'] });
    expect(again.body.results[0]).toMatchObject({ manifests: 3, blobs: 4, fetched: 2 });
    const stats = (await cache.http.get('/admin/v1/cache')).body.upstreams[0];
    expect(stats).toMatchObject({ name: 'hub', prefix: 'dockerhub', default: true, namespaces: ['docker.io'], tagttlSeconds: 600 });
    expect(stats.counts.miss).toBeGreaterThan(0);
    expect(stats.counts.hit).toBeGreaterThan(0);
  });

  it('wharf cache warm prints a line per reference and exits 1 when one failed', async () => {
    const upstream = await startUpstream();
    await pushIndex(upstream.http, 'library/node', '22', 1);
    const cache = await startCache([upstreamOf(upstream.url)]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const status = await cacheWarm(['node:22', 'node:404'], { registry: new URL(cache.url).host }, out);
    expect(status).toBe(1);
    expect(text).toMatch(/^cached {2}node:22 as dockerhub\/library\/node@sha256:[0-9a-f]{64}: 2 manifests, 2 blobs, 2 fetched \(\d+ B\)\nfailed {2}node:404: library\/node:404 is not on upstream hub/);
  });

  it('wharf cache warm fails in one line when the registry has no cache or cannot be reached', async () => {
    const upstream = await startUpstream();
    const failure = (registry: string) => cacheWarm(['node:22'], { registry }, new PassThrough()).then(() => 'no failure', (err: Error) => `${err.name}: ${err.message}`);
    expect(await failure(new URL(upstream.url).host)).toMatch(/^CommandFailure: cache warm: not found: .*\n?$/);
    expect(await failure('127.0.0.1:9')).toMatch(/^CommandFailure: cache warm: cannot connect to 127\.0\.0\.1:9: connection refused/);
    expect(await failure('127.0.0.1:9')).not.toContain('--registry');
  });

  it('wharf cache warm without --registry names the default it asked and --registry HOST:PORT when that has no cache or is not there', async () => {
    const message = await cacheWarm(['node:22'], {}, new PassThrough()).then(() => 'no failure', (err: Error) => err.message);
    // localhost:5000 refuses the connection on a test machine, or is a registry without this cache (404)
    expect(message).toMatch(/^cache warm: .*; no --registry was given, so this asked localhost:5000: name the Wharf with the cache with --registry HOST:PORT$/);
  });

  it('refuses a malformed request, and answers 404 without a proxy section', async () => {
    const upstream = await startUpstream();
    const cache = await startCache([upstreamOf(upstream.url)]);
    expectError(await cache.http.post('/admin/v1/cache/warm').send({ references: [] }), 400, 'UNSUPPORTED');
    expectError(await cache.http.post('/admin/v1/cache/warm').send({ references: ['x'], platforms: ['amd64'] }), 400, 'UNSUPPORTED');
    expectError(await cache.http.get('/admin/v1/cache/warm'), 405, 'UNSUPPORTED');
    expectError(await upstream.http.get('/admin/v1/cache'), 404, 'UNSUPPORTED');
  });

  it('is for admins when the registry has authentication', async () => {
    const registry = await startAuthRegistry();
    expect((await registry.http.post('/admin/v1/cache/warm').send({ references: ['x'] })).status).toBe(401);
  });
});
