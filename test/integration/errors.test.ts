/**
 * The error contract: every error is `{"errors":[{"code","message","detail"}]}` as application/json
 * with the code's status (Distribution Spec v1.1 "Error Codes"); unknown routes and unsupported
 * methods answer JSON too (405 with Allow), internal failures 500 UNKNOWN without internals; never HTML.
 */
import { pino } from 'pino';
import supertest from 'supertest';
import { expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { expectError, forEachDriver, pushBlob, pushImage, randomDigest, raw, testConfig } from './harness.js';

forEachDriver((make) => {
  it('an error body is exactly {"errors":[{"code","message","detail"}]} with Content-Length', async () => {
    const { http } = await make();
    await pushBlob(http, 'r');
    const digest = randomDigest();
    const res = await raw(http.get(`/v2/r/blobs/${digest}`));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['content-length']).toBe(String(res.body.length));
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({
      errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest } }],
    });
  });

  it('an error without detail carries detail {}', async () => {
    const { http } = await make({ deleteEnabled: false });
    const blob = await pushBlob(http, 'r');
    const res = await http.delete(`/v2/r/blobs/${blob.digest}`);
    expectError(res, 405, 'UNSUPPORTED');
    expect(res.body.errors[0].detail).toEqual({});
  });

  it.each([
    ['POST', '/'], // GET / redirects to the web page (test/integration/ui.test.ts)
    ['GET', '/favicon.ico'],
    ['GET', '/v1/_ping'],
    ['GET', '/v2/name-only'],
    ['GET', '/v2/a/b/c'],
    ['GET', '/v2/a/tags'],
    ['GET', '/v2/a/tags/list/extra'],
    ['GET', '/v2/a/manifests/'],
    ['GET', '/v2/a/blobs/'],
    ['GET', '/v2/a/referrers/'],
    ['GET', '/v2/a/blobs/uploads/x/y'],
    ['POST', '/v2/_catalog/extra'],
    ['DELETE', '/nothing/here'],
  ])('%s %s (no such endpoint) answers 404 as JSON, never HTML', async (method, path) => {
    const { http } = await make();
    const res = await http[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
    expectError(res, 404, 'UNSUPPORTED');
    expect(res.text).not.toMatch(/<html|<!DOCTYPE|<pre>/i);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('HEAD of an unknown path answers 404 with a JSON Content-Type and no body', async () => {
    const { http } = await make();
    const res = await http.head('/not/a/route');
    expectError(res, 404, 'UNSUPPORTED');
  });

  it.each([
    ['patch', '/v2/', 'GET, HEAD'],
    ['post', '/v2/', 'GET, HEAD'],
    ['delete', '/v2/', 'GET, HEAD'],
    ['put', '/v2/_catalog', 'GET, HEAD'],
    ['patch', '/v2/x/manifests/latest', 'GET, HEAD, PUT, DELETE'],
    ['post', '/v2/x/manifests/latest', 'GET, HEAD, PUT, DELETE'],
    ['put', '/v2/x/tags/list', 'GET, HEAD'],
    ['options', '/v2/x/blobs/uploads/', 'POST, PATCH, PUT, GET, DELETE'],
  ])('%s %s answers 405 UNSUPPORTED as JSON with Allow: %s', async (method, path, allow) => {
    const { http } = await make();
    const res = await http[method as 'get'](path);
    expectError(res, 405, 'UNSUPPORTED');
    expect(res.headers.allow).toBe(allow);
    expect(res.body.errors[0].message).toContain(method.toUpperCase());
  });

  it('a 405 on a manifest with a body does not hang or leak the body', async () => {
    const { http } = await make();
    const res = await http.patch('/v2/x/manifests/latest').set('Content-Type', 'application/octet-stream').send(Buffer.alloc(256 * 1024, 1));
    expectError(res, 405, 'UNSUPPORTED');
    expect(res.headers.allow).toBe('GET, HEAD, PUT, DELETE');
  });

  it('path traversal in names is NAME_INVALID, not a file access', async () => {
    const { http } = await make();
    await pushImage(http, 'b', 'v1', { layers: 1 });
    expectError(await http.get('/v2/a/../b/tags/list'), 400, 'NAME_INVALID');
    expectError(await http.get('/v2/a/%2e%2e/b/tags/list'), 400, 'NAME_INVALID');
    expectError(await http.get('/v2/a/%2E%2E%2Fb/tags/list'), 400, 'NAME_INVALID');
    expectError(await http.get('/v2/a/%zz/tags/list'), 400, 'NAME_INVALID');
  });

  it('percent-encoded paths are decoded before routing, as Distribution does', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'p/q', 'v1', { layers: 1 });
    const tags = await http.get('/v2/p%2Fq/%74ags/list');
    expect(tags.status).toBe(200);
    expect(tags.body).toEqual({ name: 'p/q', tags: ['v1'] });
    const manifest = await http.get(`/v2/p/q/manifests/${image.digest.replace(':', '%3A')}`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers['docker-content-digest']).toBe(image.digest);
  });

  it('a malformed query string does not break the JSON contract', async () => {
    const { http } = await make();
    await pushImage(http, 'q', 'v1', { layers: 1 });
    const res = await http.get('/v2/q/tags/list?n=%zz&last=%E0%A4%A');
    expectError(res, 400, 'PAGINATION_NUMBER_INVALID');
  });
});

it('an internal failure answers 500 UNKNOWN as JSON, without a stack trace or the underlying message', async () => {
  class BrokenDriver extends MemoryDriver {
    override async list(): Promise<string[]> {
      throw new Error('disk on fire at /secret/path');
    }
  }
  const app = createApp({ config: testConfig('inmemory', undefined), storage: new BrokenDriver(), logger: pino({ level: 'silent' }) });
  const res = await supertest(app).get('/v2/_catalog').set('X-Request-Id', 'req-42');
  expectError(res, 500, 'UNKNOWN');
  expect(res.text).not.toMatch(/secret|fire|at .*\.ts|Error:/);
  expect(res.body.errors[0].message).toMatch(/request id/);
  expect(res.headers['x-request-id']).toBe('req-42');
});
