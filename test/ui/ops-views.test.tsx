// @vitest-environment happy-dom
/**
 * The pull-through cache, notifications and GC progress views rendered in a DOM (happy-dom) from
 * fixed admin API answers: health and state in words (not colour alone), hit ratio as a percentage,
 * "no upstreams configured" without a proxy section, failures with their cause, and upstream data
 * (names, URLs, error messages) as text, never as elements.
 */
import { describe, expect, it } from 'vitest';
import type { GcProgress, GcRunRecord } from '../../src/gc/report.js';
import type { FetchOptions } from '../../src/ui/web/api.js';
import type { EndpointReport } from '../../src/observability/notifications/report.js';
import type { UpstreamReport } from '../../src/proxy/report.js';
import { ApiError } from '../../src/ui/web/api.js';
import { CacheView } from '../../src/ui/web/views/cache.js';
import { NotificationsView } from '../../src/ui/web/views/notifications.js';
import { Progress, StorageView } from '../../src/ui/web/views/storage.js';
import { FixedApi, mount } from './dom.js';

const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';


/** Waits until `text` appears in `el`. */
async function shows(el: HTMLElement, text: string): Promise<void> {
  await expect.poll(() => el.textContent).toContain(text);
}

const COUNTS = { hit: 3, miss: 1, revalidated: 0, stale: 0, collapsed: 0, upstreamError: 2, fillFailed: 0, bytesFetched: 2048 };
const upstream = (health: UpstreamReport['health'], hitRatio: number | null = 0.75): UpstreamReport => ({
  name: 'hub',
  url: 'http://127.0.0.1:5001',
  prefix: 'dockerhub',
  default: true,
  namespaces: ['docker.io'],
  tagttlSeconds: 600,
  counts: COUNTS,
  hitRatio,
  health,
});

describe('the pull-through cache view', () => {
  it('shows each upstream’s health in words, its hit ratio and counters, and an upstream error as text', async () => {
    const down = upstream({ reachable: false, lastContact: '2026-12-07T10:00:00.000Z', lastError: { at: '2026-12-07T10:05:00.000Z', message: HOSTILE } });
    const el = mount(<CacheView api={new FixedApi({ '/admin/v1/cache': { upstreams: [down] } })} />);
    await shows(el, 'hub');
    expect(el.querySelector('h2 .state')!.textContent).toBe('✗ failing');
    expect(el.querySelector('.ratio')!.textContent).toBe('75.0 %');
    expect(el.textContent).toContain('2026-12-07 10:00:00 UTC');
    expect(el.querySelector('.last-error')!.textContent).toBe(`2026-12-07 10:05:00 UTC: ${HOSTILE}`);
    const rows = [...el.querySelectorAll('table.counts tr')].map((r) => r.textContent);
    expect(rows).toEqual(expect.arrayContaining(['Hits3', 'Misses1', 'Upstream errors2', 'Bytes fetched2.00 KiB']));
    expect(el.querySelectorAll('script, img').length).toBe(0);
  });

  it('an upstream nothing was heard from and one that answers', async () => {
    const el = mount(<CacheView api={new FixedApi({ '/admin/v1/cache': { upstreams: [upstream({ reachable: null, lastContact: null, lastError: null }, null), { ...upstream({ reachable: true, lastContact: '2026-12-07T10:00:00.000Z', lastError: null }), name: 'ghcr' }] } })} />);
    await shows(el, 'ghcr');
    expect([...el.querySelectorAll('h2 .state')].map((s) => s.textContent)).toEqual(['? not known yet', '✓ reachable']);
    expect(el.querySelector('.ratio')!.textContent).toBe('no request yet');
  });

  it('says no upstream is configured when the registry has no proxy section (404 UNSUPPORTED)', async () => {
    const el = mount(<CacheView api={new FixedApi({ '/admin/v1/cache': new ApiError(404, 'UNSUPPORTED', 'no pull-through cache') })} />);
    await shows(el, 'No upstreams configured');
    expect(el.querySelector('[role="alert"]')).toBeNull();
  });
});

const endpoint = (e: Partial<EndpointReport>): EndpointReport => ({
  name: 'ci',
  url: 'http://127.0.0.1:9000/…',
  disabled: false,
  signed: true,
  pending: 0,
  delivering: true,
  lastAttempt: { at: '2026-12-07T10:00:00.000Z', status: 202 },
  lastSuccess: '2026-12-07T10:00:00.000Z',
  consecutiveFailures: 0,
  lastFailure: null,
  delivered: 12,
  ...e,
});

describe('the notifications view', () => {
  it('shows a healthy endpoint with its delivered events and a failing one with its queue and cause', async () => {
    const failing = endpoint({ name: 'audit', pending: 4, consecutiveFailures: 3, lastAttempt: { at: '2026-12-07T10:01:00.000Z', status: null, error: 'connect ECONNREFUSED' }, lastFailure: { at: '2026-12-07T10:01:00.000Z', status: null, error: 'connect ECONNREFUSED' } });
    const el = mount(<NotificationsView api={new FixedApi({ '/admin/v1/notifications': { endpoints: [endpoint({}), failing] } })} />);
    await shows(el, 'audit');
    const [ok, bad] = [...el.querySelectorAll('section.endpoint')] as HTMLElement[];
    expect(ok!.querySelector('.state')!.textContent).toBe('✓ delivering');
    expect(ok!.querySelector('.delivered')!.textContent).toBe('12');
    expect(ok!.querySelector('.last-failure')!.textContent).toBe('none');
    expect(bad!.querySelector('.state')!.textContent).toBe('✗ failing (3 attempts in a row)');
    expect(bad!.querySelector('.pending')!.textContent).toBe('4');
    expect(bad!.querySelector('.last-failure')!.textContent).toBe('2026-12-07 10:01:00 UTC: no answer (connect ECONNREFUSED)');
  });

  it('says when no endpoint is configured', async () => {
    const el = mount(<NotificationsView api={new FixedApi({ '/admin/v1/notifications': { endpoints: [] } })} />);
    await shows(el, 'No notification endpoints configured');
  });
});

describe('the progress of a running garbage collection', () => {
  const base: GcProgress = { phase: 'mark', at: '', blobsStored: 120, repositories: 10, repositoriesVisited: 3, manifestsVisited: 42, tagsDeleted: 0, manifestsDeleted: 0, blobCandidates: 0, blobsChecked: 0, blobsDeleted: 0, bytesFreed: 0 };

  it('marking: repositories read of all, manifests, blobs stored', () => {
    const el = mount(<Progress progress={base} dryRun={false} />);
    expect(el.textContent).toBe('Marking3 of 10 repositories read, 42 manifests; 120 blobs stored.');
    expect(el.querySelector('progress')!.getAttribute('aria-label')).toBe('Marking: 3 of 10');
  });

  it('sweeping: blobs checked of the candidates, deleted, bytes freed so far (would be, in a dry run)', () => {
    const sweep = { ...base, phase: 'sweep' as const, repositoriesVisited: 10, blobCandidates: 9, blobsChecked: 5, blobsDeleted: 4, bytesFreed: 3 * 1024 * 1024, tagsDeleted: 1, manifestsDeleted: 2 };
    expect(mount(<Progress progress={sweep} dryRun={false} />).textContent).toBe('Sweeping5 of 9 unneeded blobs checked, 4 deleted, 3.00 MiB freed so far; 1 tags, 2 manifests deleted.');
    expect(mount(<Progress progress={sweep} dryRun />).textContent).toBe('Sweeping5 of 9 unneeded blobs checked, 4 would be deleted, 3.00 MiB would be freed; 1 tags, 2 manifests would be deleted.');
  });
});

describe('following a run from the storage view', () => {
  it('keeps following a running run after one poll failed (a network blip), until it ends', async () => {
    const running: GcRunRecord = { id: 'r1', state: 'running', dryRun: true, deleteUntagged: false, startedAt: new Date().toISOString(), finishedAt: null, progress: null, report: null, error: null };
    const routes: Record<string, unknown> = { '/admin/v1/storage': new ApiError(500, 'UNKNOWN', 'not in this test'), '/admin/v1/retention': new ApiError(500, 'UNKNOWN', 'not in this test'), '/admin/v1/gc': { runs: [] }, '/admin/v1/gc/r1': running };
    class StartingApi extends FixedApi {
      override async fetch(path: string, opts: FetchOptions = {}): Promise<Response> {
        if (opts.method === 'POST') return new Response('{"id":"r1"}', { status: 202 });
        return super.fetch(path, opts);
      }
    }
    const el = mount(<StorageView api={new StartingApi(routes)} />);
    await shows(el, 'Dry run: what would be freed');
    routes['/admin/v1/gc/r1'] = running;
    ([...el.querySelectorAll('button')].find((b) => b.textContent!.startsWith('Dry run')) as HTMLButtonElement).click();
    await shows(el, 'r1: running');
    routes['/admin/v1/gc/r1'] = new TypeError('Failed to fetch'); // the next poll fails
    await expect.poll(() => el.querySelector('.run [role="alert"], [role="alert"]') !== null && el.textContent!.includes('Failed to fetch'), { timeout: 3000 }).toBe(true);
    routes['/admin/v1/gc/r1'] = { ...running, state: 'succeeded', finishedAt: new Date().toISOString(), report: null };
    await expect.poll(() => el.textContent, { timeout: 4000 }).toContain('r1: succeeded');
  });
});
