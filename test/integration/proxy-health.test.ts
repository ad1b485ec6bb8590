/**
 * `GET /admin/v1/cache` reports each upstream's hit ratio and health (src/proxy/health.ts): learnt
 * from the cache's traffic, and from a ping of an upstream nothing was heard from lately; an
 * upstream that stops answering is reported unreachable with why, and reachable again once it answers.
 */
import { describe, expect, it } from 'vitest';
import { pushImage } from './harness.js';
import { startCache, startUpstream, type TestCache } from './proxy-harness.js';

interface Reported {
  name: string;
  counts: Record<string, number>;
  hitRatio: number | null;
  health: { reachable: boolean | null; lastContact: string | null; lastError: { at: string; message: string } | null };
}

async function report(cache: TestCache): Promise<Reported> {
  const res = await cache.http.get('/admin/v1/cache');
  expect(res.status, res.text).toBe(200);
  return (res.body as { upstreams: Reported[] }).upstreams[0]!;
}

describe('pull-through cache health', () => {
  it('reports the hit ratio and the health of an upstream, down and up again', async () => {
    const upstream = await startUpstream();
    await pushImage(upstream.http, 'library/alpine', '3');
    const cache = await startCache([{ name: 'hub', url: upstream.url, prefix: 'dockerhub', default: true, namespaces: ['docker.io'] }]);
    const idle = await report(cache);
    expect(idle.hitRatio).toBeNull();
    expect(idle.health).toMatchObject({ reachable: true, lastError: null });
    expect(upstream.count('GET', /^\/v2\/$/)).toBe(1); // the ping of an upstream nothing was heard from
    expect(Date.parse(idle.health.lastContact!)).toBeGreaterThan(Date.now() - 60_000);

    for (let i = 0; i < 4; i++) expect((await cache.http.get('/v2/library/alpine/manifests/3')).status).toBe(200);
    const busy = await report(cache);
    expect(busy.counts).toMatchObject({ miss: 1, hit: 3 });
    expect(busy.hitRatio).toBe(0.75);
    expect(upstream.count('GET', /^\/v2\/$/)).toBe(1); // heard from just now: no ping

    await upstream.stop();
    expect((await cache.http.get('/v2/library/alpine/manifests/latest')).status).toBe(502);
    const down = await report(cache);
    expect(down.health.reachable).toBe(false);
    expect(down.health.lastError?.message).toContain('upstream hub');
    expect(down.counts.upstreamError).toBe(1);

    await upstream.start();
    cache.advance(31_000); // nothing heard for longer than HEALTH_MAX_AGE_MS: the report pings it
    const up = await report(cache);
    expect(up.health.reachable).toBe(true);
    expect(up.health.lastError?.message).toContain('upstream hub'); // the last failure stays on record
    expect(Date.parse(up.health.lastContact!)).toBeGreaterThan(Date.parse(up.health.lastError!.at));
  });

  it('pings an upstream that cannot be reached and says why', async () => {
    const upstream = await startUpstream();
    await upstream.stop();
    const cache = await startCache([{ name: 'hub', url: upstream.url, prefix: 'dockerhub', default: true }]);
    const r = await report(cache);
    expect(r.health.reachable).toBe(false);
    expect(r.health.lastContact).toBeNull();
    expect(r.health.lastError?.message).toMatch(new RegExp(`^GET ${upstream.url}/v2/: `));
  });
});
