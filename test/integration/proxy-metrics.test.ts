/**
 * The pull-through cache's Prometheus metrics (issue 16's "hits, misses and upstream errors" of the
 * cache), scraped from the debug listener of a real `startServer` and parsed with a Prometheus text
 * parser: one series per configured upstream and result, never per repository.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';
import { Scrape } from '../support/prometheus.js';
import { eventually, pushImage, raw, sha256 } from './harness.js';
import { startUpstream } from './proxy-harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function scrape(debugUrl: string): Promise<Scrape> {
  const res = await fetch(`${debugUrl}/metrics`);
  expect(res.status).toBe(200);
  return new Scrape(await res.text());
}

describe('pull-through cache metrics', () => {
  it('counts hits, misses, upstream errors and fetched bytes per upstream, with bounded labels', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/busybox', 'latest');
    const root = await mkdtemp(join(tmpdir(), 'wharf-proxy-metrics-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const config = validate({
      log: { level: 'silent' },
      http: { addr: '127.0.0.1:0', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } } },
      storage: { filesystem: { rootdirectory: root } },
      proxy: {
        upstreams: [
          { name: 'hub', url: upstream.url, prefix: 'dockerhub', default: true, namespaces: ['docker.io'] },
          { name: 'quiet', url: 'http://127.0.0.1:9', prefix: 'quiet' },
        ],
        // each blob GET of the cold pull is then a miss (with prefetch it joins the prefetch's fill: collapsed, or a hit)
        prefetch: false,
      },
    });
    const server = await startServer(config, pino({ level: 'silent' }));
    cleanups.push(() => server.stop());
    const http = supertest(`http://${server.address}`);
    const debugUrl = `http://${server.debugAddress}`;

    const before = await scrape(debugUrl);
    // every upstream's series exist from the start, at 0
    for (const upstreamName of ['hub', 'quiet']) {
      for (const result of ['hit', 'miss', 'revalidated', 'stale', 'collapsed']) expect(before.value('wharf_proxy_requests_total', { upstream: upstreamName, result })).toBe(0);
      expect(before.value('wharf_proxy_upstream_errors_total', { upstream: upstreamName })).toBe(0);
    }

    // cold: the manifest and each blob are misses, their bytes fetched
    expect((await http.get('/v2/library/busybox/manifests/latest')).headers['cache-status']).toBe('Wharf; fwd=miss; stored');
    const blobs = [image.config, ...image.layers];
    for (const blob of blobs) expect(sha256((await raw(http.get(`/v2/library/busybox/blobs/${blob.digest}`))).body)).toBe(blob.digest);
    // (a blob HEAD through the default upstream is a push's question, answered by the team's repositories: ask by prefix)
    for (const blob of blobs) await eventually(async () => (await http.head(`/v2/dockerhub/library/busybox/blobs/${blob.digest}`)).headers['cache-status'] === 'Wharf; hit', 'the blob to be committed');
    // warm: hits
    expect((await http.get('/v2/library/busybox/manifests/latest')).headers['cache-status']).toBe('Wharf; hit');
    for (const blob of blobs) expect((await raw(http.get(`/v2/library/busybox/blobs/${blob.digest}`))).headers['cache-status']).toBe('Wharf; hit');
    // many repository names add no series
    for (let i = 0; i < 20; i++) await http.get(`/v2/library/name-${i}/manifests/latest`);
    // the upstream fails: an uncached tag is an upstream error (502)
    upstream.status = 503;
    expect((await http.get('/v2/library/busybox/manifests/other')).status).toBe(502);

    const after = await scrape(debugUrl);
    const hub = (result: string) => after.value('wharf_proxy_requests_total', { upstream: 'hub', result });
    expect(hub('miss')).toBe(1 + blobs.length);
    // the blob HEADs that waited for the commits are hits too
    expect(hub('hit')).toBeGreaterThanOrEqual(1 + 2 * blobs.length);
    expect(after.value('wharf_proxy_upstream_errors_total', { upstream: 'hub' })).toBeGreaterThanOrEqual(1);
    expect(after.value('wharf_proxy_upstream_bytes_total', { upstream: 'hub' })).toBe(blobs.reduce((sum, b) => sum + b.size, 0));
    expect(after.value('wharf_proxy_fill_failures_total', { upstream: 'hub' })).toBe(0);
    // the other upstream saw nothing
    expect(after.value('wharf_proxy_requests_total', { upstream: 'quiet' })).toBe(0);
    // labels: upstream and result only, 2 upstreams x 5 results
    const labelSets = after.labelSets('wharf_proxy_requests_total');
    expect(labelSets).toHaveLength(10);
    for (const labels of labelSets) expect(Object.keys(labels).sort()).toEqual(['result', 'upstream']);
    expect(after.labelSets('wharf_proxy_upstream_errors_total')).toHaveLength(2);
  });
});
