/**
 * Manifests through the pull-through cache: tags served from the cache for `tagttl`, then
 * revalidated with a HEAD only and refetched only when they moved; upstream 404s remembered;
 * stale-if-error when the upstream is down, answers 5xx or 429; errors that name the upstream
 * when nothing is cached.
 */
import { describe, expect, it } from 'vitest';
import { expectError, pushImage } from './harness.js';
import { startCache, startUpstream } from './proxy-harness.js';

const MINUTE = 60_000;
const upstreamOf = (url: string) => ({ name: 'up', url, prefix: 'up', default: true, tagttl: '10m' });
const manifestGets = /\/manifests\//;

describe('pull-through manifests', () => {
  it('serves a cached tag for tagttl with no upstream request, then revalidates with one HEAD', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/alpine', '3');
    // no layer prefetch: every upstream request counted below is a manifest's
    const cache = await startCache([upstreamOf(upstream.url)], { prefetch: false });
    expect((await cache.http.get('/v2/library/alpine/manifests/3')).status).toBe(200);
    const seen = upstream.requests.length;
    for (let i = 0; i < 5; i++) {
      const hit = await cache.http.get('/v2/library/alpine/manifests/3');
      expect(hit.headers['cache-status']).toBe('Wharf; hit');
      expect((await cache.http.head('/v2/library/alpine/manifests/3')).headers['docker-content-digest']).toBe(image.digest);
    }
    cache.advance(9 * MINUTE);
    expect((await cache.http.get('/v2/library/alpine/manifests/3')).headers['cache-status']).toBe('Wharf; hit');
    expect(upstream.requests.length).toBe(seen);
    cache.advance(2 * MINUTE);
    const revalidated = await cache.http.get('/v2/library/alpine/manifests/3');
    expect(revalidated.headers['cache-status']).toBe('Wharf; fwd=stale; fwd-status=200');
    expect(upstream.requests.slice(seen).map((r) => r.method)).toEqual(['HEAD']);
    // checked now: fresh for another tagttl
    expect((await cache.http.get('/v2/library/alpine/manifests/3')).headers['cache-status']).toBe('Wharf; hit');
    expect(upstream.requests.length).toBe(seen + 1);
  });

  it('serves the new digest of a moved tag after tagttl, not before', async () => {
    const upstream = await startUpstream();
    const first = await pushImage(upstream.http, 'library/alpine', '3');
    const cache = await startCache([upstreamOf(upstream.url)]);
    expect((await cache.http.get('/v2/library/alpine/manifests/3')).headers['docker-content-digest']).toBe(first.digest);
    const second = await pushImage(upstream.http, 'library/alpine', '3');
    cache.advance(5 * MINUTE);
    expect((await cache.http.get('/v2/library/alpine/manifests/3')).headers['docker-content-digest']).toBe(first.digest);
    const seen = upstream.requests.length;
    cache.advance(6 * MINUTE);
    const moved = await cache.http.get('/v2/library/alpine/manifests/3');
    expect(moved.headers['docker-content-digest']).toBe(second.digest);
    expect(moved.headers['cache-status']).toBe('Wharf; fwd=miss; stored');
    expect(upstream.requests.slice(seen).map((r) => `${r.method} ${r.path.replace(/sha256:\w+/, 'DIGEST')}`)).toEqual([
      'HEAD /v2/library/alpine/manifests/3',
      'GET /v2/library/alpine/manifests/3',
    ]);
    // the old digest stays pullable by digest
    expect((await cache.http.get(`/v2/library/alpine/manifests/${first.digest}`)).headers['cache-status']).toBe('Wharf; hit');
  });

  it('remembers an upstream 404 for negativettl', async () => {
    const upstream = await startUpstream();
    await pushImage(upstream.http, 'library/alpine', '3');
    const cache = await startCache([upstreamOf(upstream.url)]);
    const message = expectError(await cache.http.get('/v2/library/alpine/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
    expect(message).toContain(`upstream up (${upstream.url})`);
    expectError(await cache.http.get('/v2/library/alpine/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
    expect(upstream.count('GET', /manifests\/nope/)).toBe(1);
  });

  it('concurrent cold requests for one tag make one upstream request', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/alpine', '3');
    const cache = await startCache([upstreamOf(upstream.url)]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => cache.http.get('/v2/library/alpine/manifests/3')));
    for (const a of answers) expect(a.headers['docker-content-digest']).toBe(image.digest);
    expect(upstream.count('GET', manifestGets)).toBe(1);
  });

  it('serves the cached copy, marked stale, when the upstream is down, answers 5xx or 429', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/alpine', '3');
    const cache = await startCache([upstreamOf(upstream.url)]);
    await cache.http.get('/v2/library/alpine/manifests/3');
    for (const failure of ['down', 503, 429] as const) {
      cache.advance(11 * MINUTE);
      if (failure === 'down') await upstream.stop();
      else upstream.status = failure;
      const stale = await cache.http.get('/v2/library/alpine/manifests/3');
      expect(stale.status, String(failure)).toBe(200);
      expect(stale.headers['docker-content-digest']).toBe(image.digest);
      expect(stale.headers['cache-status']).toBe('Wharf; fwd=stale; detail=stale-if-error');
      expect(stale.headers.warning).toBe('110 - "Response is Stale"');
      if (failure === 'down') await upstream.start();
      upstream.status = undefined;
    }
    // by digest it is never stale
    upstream.status = 503;
    expect((await cache.http.get(`/v2/library/alpine/manifests/${image.digest}`)).headers['cache-status']).toBe('Wharf; hit');
  });

  it('without a cached copy, says which upstream failed: 502 (down or 5xx), 429 with Retry-After', async () => {
    const upstream = await startUpstream();
    const cache = await startCache([upstreamOf(upstream.url)]);
    upstream.status = 503;
    const message = expectError(await cache.http.get('/v2/library/alpine/manifests/3'), 502, 'UNAVAILABLE');
    expect(message).toContain(`upstream up (${upstream.url}) failed`);
    upstream.status = 429;
    const limited = await cache.http.get('/v2/library/alpine/manifests/4');
    expectError(limited, 429, 'TOOMANYREQUESTS');
    expect(limited.headers['retry-after']).toBe('7');
    // asked to wait 7 s, the cache does not ask again sooner (its retries wait at most 1 s): one GET
    expect(upstream.count('GET', /\/manifests\/4$/)).toBe(1);
    upstream.status = undefined;
    await upstream.stop();
    expectError(await cache.http.get('/v2/library/alpine/manifests/5'), 502, 'UNAVAILABLE');
  });

  it('records the pull time of a cached tag at most once an hour', async () => {
    const upstream = await startUpstream();
    await pushImage(upstream.http, 'library/alpine', '3');
    const cache = await startCache([upstreamOf(upstream.url)]);
    const record = () => cache.driver.getContent('/repositories/up/library/alpine/_manifests/pulls/3').then((b) => b.toString());
    await cache.http.get('/v2/library/alpine/manifests/3');
    const first = await record();
    cache.advance(30 * MINUTE);
    await cache.http.head('/v2/library/alpine/manifests/3');
    expect(await record()).toBe(first);
    cache.advance(31 * MINUTE);
    await cache.http.head('/v2/library/alpine/manifests/3');
    expect(Date.parse(await record()) - Date.parse(first)).toBeGreaterThanOrEqual(61 * MINUTE);
  });
});
