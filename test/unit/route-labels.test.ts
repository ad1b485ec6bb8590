import { describe, expect, it } from 'vitest';
import { routeLabels } from '../../src/observability/http-metrics.js';
import { parseV2Path } from '../../src/routes/v2-path.js';

/** The area routeLabels must find: the one the router's grammar (parseV2Path) finds. */
function expectedHandler(path: string): string {
  const route = parseV2Path(path);
  if (!route) return 'other';
  if (route.area === 'uploads') return route.session === undefined ? 'blob_upload' : 'blob_upload_chunk';
  return { base: 'base', catalog: 'catalog', tags: 'tags', manifests: 'manifest', blobs: 'blob', referrers: 'referrers' }[route.area];
}

const DIGEST = `sha256:${'a'.repeat(64)}`;
const PATHS = [
  '/v2', '/v2/', '/v2/_catalog', '/v2/_catalog/', '/v2x', '/v2/a', '/v2//manifests/x', '/v2/a/manifests/', '/v2/a/manifests/latest',
  '/v2/a/b/c/manifests/latest', `/v2/a/manifests/${DIGEST}`, '/v2/a/manifests/x/y', '/v2/manifests/x', '/v2/_catalog/manifests/x',
  '/v2/a/tags/list', '/v2/a/tags/lis', '/v2/a/tags/list/', '/v2/tags/list', '/v2/a/b/tags/list', `/v2/a/blobs/${DIGEST}`, '/v2/a/blobs/',
  '/v2/a/blobs/uploads', '/v2/a/blobs/uploads/', '/v2/a/blobs/uploads/abc-123', '/v2/a/blobs/uploads/a/b', '/v2/blobs/uploads/x',
  '/v2/uploads/x', '/v2/a/uploads/x', '/v2/a/xblobs/uploads/x', '/v2/a/blobs/uploadsx', '/v2/a/referrers/' + DIGEST, '/v2/a/referrers/',
  '/v2/blobs/blobs/x', '/v2/a/blobs/uploads/blobs/uploads/x', '/v2/a/manifests/blobs', '/v2/a/tags/tags/list',
];

describe('routeLabels', () => {
  it.each(PATHS)('labels %s as the router parses it', (path) => {
    expect(routeLabels(path).handler).toBe(expectedHandler(path));
  });

  it('labels the other paths by a bounded set', () => {
    expect(routeLabels('/livez')).toEqual({ handler: 'health', route: '/livez' });
    expect(routeLabels('/admin/v1/gc')).toEqual({ handler: 'admin', route: '/admin/v1/*' });
    expect(routeLabels('/anything/else')).toEqual({ handler: 'other', route: 'other' });
  });
});
