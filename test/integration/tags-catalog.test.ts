/**
 * Listings: end-8a/8b `GET /v2/<name>/tags/list` and `GET /v2/_catalog`, in lexical order, with
 * `n` and `last` pagination and a `Link: <...>; rel="next"` header exactly when more entries remain.
 */
import { expect, it } from 'vitest';
import { buildImage, expectError, forEachDriver, pushBlob, pushImage, putManifest, type Client } from './harness.js';

/** Pushes one image to `name`, then tags it with every tag in `tags` (in the given order). */
async function tagAll(http: Client, name: string, tags: string[]): Promise<void> {
  const image = buildImage({ layers: 1 });
  for (const blob of [image.config, ...image.layers]) await pushBlob(http, name, blob.bytes);
  for (const tag of tags) expect((await putManifest(http, name, tag, image.body)).status).toBe(201);
}

const TAGS = ['v10', 'latest', 'v2', 'beta', 'v1', '1.0', 'alpha'];
const SORTED = ['1.0', 'alpha', 'beta', 'latest', 'v1', 'v10', 'v2'];

forEachDriver((make) => {
  it('lists tags in lexical order with the repository name, as JSON, without a Link header', async () => {
    const { http } = await make();
    await tagAll(http, 'team/app', TAGS);
    const res = await http.get('/v2/team/app/tags/list');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
    expect(res.body).toEqual({ name: 'team/app', tags: SORTED });
    expect(res.headers.link).toBeUndefined();
  });

  it('n limits the page and Link points at the next one; following Links walks every tag once', async () => {
    const { http } = await make();
    await tagAll(http, 'page', TAGS);
    const first = await http.get('/v2/page/tags/list?n=3');
    expect(first.body).toEqual({ name: 'page', tags: ['1.0', 'alpha', 'beta'] });
    expect(first.headers.link).toBe('</v2/page/tags/list?n=3&last=beta>; rel="next"');

    const seen: string[] = [];
    let next: string | undefined = '/v2/page/tags/list?n=3';
    let pages = 0;
    while (next) {
      const res = await http.get(next);
      expect(res.status).toBe(200);
      seen.push(...(res.body.tags as string[]));
      const link = res.headers.link as string | undefined;
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(SORTED);
  });

  it('n=0 returns an empty list and no Link header', async () => {
    const { http } = await make();
    await tagAll(http, 'zero', TAGS);
    const res = await http.get('/v2/zero/tags/list?n=0');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'zero', tags: [] });
    expect(res.headers.link).toBeUndefined();
  });

  it('n equal to the number of tags returns them all without a Link; n larger too', async () => {
    const { http } = await make();
    await tagAll(http, 'exact', TAGS);
    for (const n of [TAGS.length, TAGS.length + 1, 1000]) {
      const res = await http.get(`/v2/exact/tags/list?n=${n}`);
      expect(res.body.tags).toEqual(SORTED);
      expect(res.headers.link).toBeUndefined();
    }
    const oneLess = await http.get(`/v2/exact/tags/list?n=${TAGS.length - 1}`);
    expect(oneLess.body.tags).toEqual(SORTED.slice(0, -1));
    expect(oneLess.headers.link).toBe(`</v2/exact/tags/list?n=${TAGS.length - 1}&last=v10>; rel="next"`);
  });

  it('last skips up to and including the given tag, with and without n', async () => {
    const { http } = await make();
    await tagAll(http, 'last', TAGS);
    expect((await http.get('/v2/last/tags/list?last=beta')).body.tags).toEqual(['latest', 'v1', 'v10', 'v2']);
    const paged = await http.get('/v2/last/tags/list?n=2&last=beta');
    expect(paged.body.tags).toEqual(['latest', 'v1']);
    expect(paged.headers.link).toBe('</v2/last/tags/list?n=2&last=v1>; rel="next"');
    // a value between tags (not itself a tag) starts after it
    expect((await http.get('/v2/last/tags/list?n=2&last=b')).body.tags).toEqual(['beta', 'latest']);
  });

  it('last = the final tag, or beyond all tags, returns an empty list without a Link', async () => {
    const { http } = await make();
    await tagAll(http, 'end', TAGS);
    for (const last of ['v2', 'zzz']) {
      const res = await http.get(`/v2/end/tags/list?n=3&last=${last}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ name: 'end', tags: [] });
      expect(res.headers.link).toBeUndefined();
    }
    const secondLast = await http.get('/v2/end/tags/list?n=1&last=v10');
    expect(secondLast.body.tags).toEqual(['v2']);
    expect(secondLast.headers.link).toBeUndefined();
  });

  it.each(['-1', 'abc', '1.5', '1e3', '0x10'])('n=%s answers 400 PAGINATION_NUMBER_INVALID', async (n) => {
    const { http } = await make();
    await tagAll(http, 'badn', ['v1']);
    expectError(await http.get(`/v2/badn/tags/list?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
    expectError(await http.get(`/v2/_catalog?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
  });

  it('a repository with blobs but no tags lists an empty array', async () => {
    const { http } = await make();
    await pushBlob(http, 'untagged');
    const res = await http.get('/v2/untagged/tags/list');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'untagged', tags: [] });
  });

  it('a deleted tag leaves the listing', async () => {
    const { http } = await make();
    await tagAll(http, 'gone', ['a', 'b', 'c']);
    await http.delete('/v2/gone/manifests/b').expect(202);
    expect((await http.get('/v2/gone/tags/list')).body.tags).toEqual(['a', 'c']);
  });

  it('an unknown repository answers 404 NAME_UNKNOWN; an invalid name 400 NAME_INVALID', async () => {
    const { http } = await make();
    await tagAll(http, 'some', ['v1']);
    const res = await http.get('/v2/none/tags/list');
    expectError(res, 404, 'NAME_UNKNOWN');
    expect(res.body.errors[0].detail).toEqual({ name: 'none' });
    expectError(await http.get('/v2/So/tags/list'), 400, 'NAME_INVALID');
  });

  it('the Link of a nested name keeps the name and escapes last', async () => {
    const { http } = await make();
    await tagAll(http, 'a/b/c', ['x_1', 'x_2']);
    const res = await http.get('/v2/a/b/c/tags/list?n=1');
    expect(res.headers.link).toBe('</v2/a/b/c/tags/list?n=1&last=x_1>; rel="next"');
  });

  it('catalog lists every repository in lexical order, nested names and siblings included', async () => {
    const { http } = await make();
    const names = ['a/b/c', 'a-b', 'a/b', 'a', 'b', 'a.b', 'a_b', 'z/y/x/w', 'a/c'];
    for (const [i, name] of names.entries()) {
      if (i % 2 === 0) await pushImage(http, name, 'v1', { layers: 1 });
      else await pushBlob(http, name);
    }
    const res = await http.get('/v2/_catalog');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
    expect(res.body).toEqual({ repositories: ['a', 'a-b', 'a.b', 'a/b', 'a/b/c', 'a/c', 'a_b', 'b', 'z/y/x/w'] });
    expect(res.headers.link).toBeUndefined();
  });

  it('catalog of an empty registry is an empty list', async () => {
    const { http } = await make();
    const res = await http.get('/v2/_catalog');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ repositories: [] });
  });

  it('catalog does not list a parent that only holds nested repositories, nor open upload sessions', async () => {
    const { http } = await make();
    await pushBlob(http, 'parent/child');
    await http.post('/v2/pending/blobs/uploads/').expect(202);
    expect((await http.get('/v2/_catalog')).body).toEqual({ repositories: ['parent/child'] });
    expectError(await http.get('/v2/parent/tags/list'), 404, 'NAME_UNKNOWN');
  });

  it('a repository whose only content was deleted is unknown again and leaves the catalog', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'solo');
    const image = await pushImage(http, 'pair', 'v1', { layers: 1 });
    await http.delete(`/v2/solo/blobs/${blob.digest}`).expect(202);
    expectError(await http.get(`/v2/solo/blobs/${blob.digest}`), 404, 'NAME_UNKNOWN');
    expectError(await http.get('/v2/solo/tags/list'), 404, 'NAME_UNKNOWN');
    expect((await http.get('/v2/_catalog')).body).toEqual({ repositories: ['pair'] });

    await http.delete(`/v2/pair/manifests/${image.digest}`).expect(202);
    for (const blobDigest of [image.config.digest, image.layers[0]!.digest]) await http.delete(`/v2/pair/blobs/${blobDigest}`).expect(202);
    expectError(await http.get('/v2/pair/tags/list'), 404, 'NAME_UNKNOWN');
    expect((await http.get('/v2/_catalog')).body).toEqual({ repositories: [] });
  });

  it('catalog pagination: n, last, Link exactly when more remain, and the boundaries', async () => {
    const { http } = await make();
    const names = ['a', 'a-b', 'a/b', 'a/b/c', 'b'];
    for (const name of names) await pushBlob(http, name);

    const first = await http.get('/v2/_catalog?n=2');
    expect(first.body).toEqual({ repositories: ['a', 'a-b'] });
    expect(first.headers.link).toBe('</v2/_catalog?n=2&last=a-b>; rel="next"');
    const second = await http.get('/v2/_catalog?n=2&last=a-b');
    expect(second.body).toEqual({ repositories: ['a/b', 'a/b/c'] });
    expect(second.headers.link).toBe(`</v2/_catalog?n=2&last=${encodeURIComponent('a/b/c')}>; rel="next"`);
    const third = await http.get(`/v2/_catalog?n=2&last=${encodeURIComponent('a/b/c')}`);
    expect(third.body).toEqual({ repositories: ['b'] });
    expect(third.headers.link).toBeUndefined();

    const zero = await http.get('/v2/_catalog?n=0');
    expect(zero.body).toEqual({ repositories: [] });
    expect(zero.headers.link).toBeUndefined();
    const exact = await http.get('/v2/_catalog?n=5');
    expect(exact.body.repositories).toEqual(names);
    expect(exact.headers.link).toBeUndefined();
    const atEnd = await http.get('/v2/_catalog?n=2&last=b');
    expect(atEnd.body).toEqual({ repositories: [] });
    expect(atEnd.headers.link).toBeUndefined();
    const beyond = await http.get('/v2/_catalog?last=zzz');
    expect(beyond.body).toEqual({ repositories: [] });
    expect((await http.get('/v2/_catalog?last=a/b')).body.repositories).toEqual(['a/b/c', 'b']);
  });

  it('following catalog Links walks every repository once', async () => {
    const { http } = await make();
    const names = ['r1', 'r1/x', 'r2', 'r3/y/z', 'r4'];
    for (const name of names) await pushBlob(http, name);
    const seen: string[] = [];
    let next: string | undefined = '/v2/_catalog?n=2';
    while (next) {
      const res = await http.get(next);
      seen.push(...(res.body.repositories as string[]));
      const link = res.headers.link as string | undefined;
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    }
    expect(seen).toEqual(names);
  });

  it('catalog and tags/list accept only GET and HEAD: 405 with Allow', async () => {
    const { http } = await make();
    await tagAll(http, 'ro', ['v1']);
    const catalog = await http.delete('/v2/_catalog');
    expectError(catalog, 405, 'UNSUPPORTED');
    expect(catalog.headers.allow).toBe('GET, HEAD');
    const tags = await http.post('/v2/ro/tags/list');
    expectError(tags, 405, 'UNSUPPORTED');
    expect(tags.headers.allow).toBe('GET, HEAD');
  });

  it('HEAD of tags/list and _catalog answers like GET without a body', async () => {
    const { http } = await make();
    await tagAll(http, 'ro', ['v1']);
    for (const path of ['/v2/ro/tags/list', '/v2/_catalog']) {
      const res = await http.head(path);
      expect(res.status).toBe(200);
      expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
      expect(res.text ?? '').toBe('');
    }
    expectError(await http.head('/v2/nope/tags/list'), 404, 'NAME_UNKNOWN');
  });
});

forEachDriver((make, driverName) => {
  it('the catalog skips folders whose names are not repository names', async () => {
    const reg = await make();
    await tagAll(reg.http, 'good/app', ['v1']);
    await reg.driver.putContent('/repositories/bad..name/_layers/x', 'stray');
    await reg.driver.putContent('/repositories/good/trailing-/_layers/x', 'stray');
    const res = await reg.http.get('/v2/_catalog');
    expect(res.status, driverName).toBe(200);
    expect(res.body.repositories).toEqual(['good/app']);
  });
});
