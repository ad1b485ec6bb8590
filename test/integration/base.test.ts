/** `GET /v2/` (end-1), the headers every response carries, and repository-name handling in URLs. */
import { expect, it } from 'vitest';
import { expectError, forEachDriver, pushBlob, pushImage, raw, randomBlob } from './harness.js';

forEachDriver((make) => {
  it('GET /v2/ answers 200 with the API version header and an empty JSON object', async () => {
    const { http } = await make();
    const res = await raw(http.get('/v2/'));
    expect(res.status).toBe(200);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
    expect(res.body.toString()).toBe('{}');
  });

  it('HEAD /v2/ and GET /v2 (no trailing slash) answer 200', async () => {
    const { http } = await make();
    const head = await http.head('/v2/');
    expect(head.status).toBe(200);
    expect(head.headers['docker-distribution-api-version']).toBe('registry/2.0');
    const bare = await http.get('/v2');
    expect(bare.status).toBe(200);
  });

  it('sets Docker-Distribution-API-Version on errors too', async () => {
    const { http } = await make();
    const res = await http.get('/v2/nope/manifests/latest');
    expectError(res, 404, 'NAME_UNKNOWN');
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('echoes a well-formed X-Request-Id and makes one up otherwise', async () => {
    const { http } = await make();
    const given = await http.get('/v2/').set('X-Request-Id', 'abc-123');
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await http.get('/v2/').set('X-Request-Id', 'bad id with spaces');
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves a repository name of 10 components', async () => {
    const { http } = await make();
    const name = 'a/b/c/d/e/f/g/h/i/j';
    const image = await pushImage(http, name, 'v1');
    const res = await raw(http.get(`/v2/${name}/manifests/v1`));
    expect(res.status).toBe(200);
    expect(res.body.equals(image.body)).toBe(true);
    const tags = await http.get(`/v2/${name}/tags/list`);
    expect(tags.body).toEqual({ name, tags: ['v1'] });
  });

  it('serves a 255-character name and rejects 256 characters with NAME_INVALID', async () => {
    const { http } = await make();
    const long = `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(53)}`;
    expect(long).toHaveLength(255);
    const blob = await pushBlob(http, long);
    const got = await raw(http.get(`/v2/${long}/blobs/${blob.digest}`));
    expect(got.status).toBe(200);
    expect(got.body.equals(blob.bytes)).toBe(true);

    const single = 'x'.repeat(255);
    await pushImage(http, single, 'latest');
    expect((await http.head(`/v2/${single}/manifests/latest`)).status).toBe(200);

    const tooLong = `${long}d`;
    expectError(await http.post(`/v2/${tooLong}/blobs/uploads/`), 400, 'NAME_INVALID');
    expectError(await http.get(`/v2/${tooLong}/tags/list`), 400, 'NAME_INVALID');
    expectError(await http.get(`/v2/${tooLong}/manifests/latest`), 400, 'NAME_INVALID');
  });

  it.each([
    ['uppercase', 'Library/app'],
    ['a leading separator', 'a/-b'],
    ['a trailing separator', 'app-'],
    ['an empty component', 'a//b'],
    ['a triple underscore', 'a___b'],
    ['a dot component', 'a/./b'],
  ])('rejects a name with %s with NAME_INVALID', async (_what, name) => {
    const { http } = await make();
    expectError(await http.post(`/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID');
    expectError(await http.get(`/v2/${name}/manifests/latest`), 400, 'NAME_INVALID');
    expectError(await http.get(`/v2/${name}/tags/list`), 400, 'NAME_INVALID');
  });

  it('routes on the LAST blobs keyword: /v2/a/blobs/blobs/<digest> is repository a/blobs', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'a/blobs', randomBlob(40));
    const res = await raw(http.get(`/v2/a/blobs/blobs/${blob.digest}`));
    expect(res.status).toBe(200);
    expect(res.body.equals(blob.bytes)).toBe(true);
    // repository "a" does not have it
    expectError(await http.get(`/v2/a/blobs/${blob.digest}`), 404, 'NAME_UNKNOWN');
  });

  it('routes on the LAST manifests keyword: /v2/x/manifests/manifests/latest is repository x/manifests', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'x/manifests', 'latest');
    const res = await raw(http.get('/v2/x/manifests/manifests/latest'));
    expect(res.status).toBe(200);
    expect(res.body.equals(image.body)).toBe(true);
    expectError(await http.get('/v2/x/manifests/latest'), 404, 'NAME_UNKNOWN');
    const tags = await http.get('/v2/x/manifests/tags/list');
    expect(tags.body).toEqual({ name: 'x/manifests', tags: ['latest'] });
  });

  it('routes uploads and tags under names that contain keywords', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'tags/list/uploads', randomBlob(10));
    expect((await http.head(`/v2/tags/list/uploads/blobs/${blob.digest}`)).status).toBe(200);
    await pushImage(http, 'blobs/uploads', 'v1', { layers: 1 });
    expect((await http.get('/v2/blobs/uploads/tags/list')).body).toEqual({ name: 'blobs/uploads', tags: ['v1'] });
  });
});
