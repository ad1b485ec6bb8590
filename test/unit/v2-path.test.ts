import { describe, expect, it } from 'vitest';
import { parseV2Path } from '../../src/routes/v2-path.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseV2Path', () => {
  it.each([
    ['/v2/', { area: 'base' }],
    ['/v2', { area: 'base' }],
    ['/v2/_catalog', { area: 'catalog' }],
    ['/v2/team/app/tags/list', { area: 'tags', name: 'team/app' }],
    [`/v2/team/app/blobs/${D}`, { area: 'blobs', name: 'team/app', digest: D }],
    ['/v2/team/app/blobs/uploads/', { area: 'uploads', name: 'team/app', session: undefined }],
    ['/v2/team/app/blobs/uploads', { area: 'uploads', name: 'team/app', session: undefined }],
    ['/v2/team/app/blobs/uploads/abc', { area: 'uploads', name: 'team/app', session: 'abc' }],
    ['/v2/team/app/manifests/1.0', { area: 'manifests', name: 'team/app', reference: '1.0' }],
    [`/v2/team/app/referrers/${D}`, { area: 'referrers', name: 'team/app', digest: D }],
  ])('%s', (path, want) => {
    expect(parseV2Path(path)).toEqual(want);
  });

  it('routes on the last area keyword when the name contains one', () => {
    expect(parseV2Path(`/v2/a/blobs/blobs/${D}`)).toEqual({ area: 'blobs', name: 'a/blobs', digest: D });
    expect(parseV2Path('/v2/x/manifests/manifests/latest')).toEqual({ area: 'manifests', name: 'x/manifests', reference: 'latest' });
    expect(parseV2Path('/v2/a/tags/list/tags/list')).toEqual({ area: 'tags', name: 'a/tags/list' });
    expect(parseV2Path(`/v2/a/blobs/uploads/blobs/${D}`)).toEqual({ area: 'blobs', name: 'a/blobs/uploads', digest: D });
  });

  it.each(['/v1/', '/v2/app', '/v2/app/unknown/x', '/v2/app/manifests/', '/v2/app/manifests/a/b', '/other'])('rejects %s', (path) => {
    expect(parseV2Path(path)).toBeUndefined();
  });
});
