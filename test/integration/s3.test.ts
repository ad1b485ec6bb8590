/**
 * The registry over the S3 driver (s3rver in its own process, started by this file): chunked pushes
 * with chunks under 5 MiB, sessions continued through another app on the same bucket, concurrent
 * PATCHes at one offset through two apps, blob redirects, start-up checks of the bucket, and a store
 * that keeps failing (503 after the SDK's retries).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.js';
import { gc } from '../../src/cli/gc.js';
import { ConfigError, validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createHttpServer, startServer } from '../../src/server.js';
import { S3Driver, type S3DriverOptions } from '../../src/storage/s3.js';
import { configFile } from '../support/config.js';
import { startS3, type RunningS3 } from '../support/s3.js';
import { buildImage, encodeManifest, expectError, MEDIA, pushBlob, putManifest, raw, pushImage, randomBlob, sha256, type Client } from './harness.js';

const MiB = 1024 * 1024;
// RGW shares 2 cores with everything else here: S3 round trips swing with the machine's load
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

let s3: RunningS3;
const servers: Server[] = [];

beforeAll(async () => {
  s3 = await startS3();
}, 300_000); // Ceph RGW starts in about 6 s, longer on a busy machine (and a second time if the first fails)
afterAll(async () => {
  await s3?.stop();
});
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

function s3Config(s3Settings: Record<string, unknown>): Config {
  return validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0' }, storage: { s3: s3Settings } });
}

/** The test bucket's settings under a fresh root directory. */
function settings(root: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { bucket: s3.bucket, endpoint: s3.endpoint, forcepathstyle: true, accesskey: s3.accessKey, secretkey: s3.secretKey, rootdirectory: root, chunksize: 5 * MiB, ...extra };
}

/** An app over its own S3 driver (as another process would have) on `root`, served on a loopback port. */
async function app(root: string, options: Partial<S3DriverOptions> = {}, idletimeout?: string): Promise<{ http: Client; url: string; driver: S3Driver }> {
  const driver = new S3Driver({
    bucket: s3.bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    rootDirectory: root,
    chunkSize: 5 * MiB,
    ...options,
  });
  const config = validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0', ...(idletimeout ? { idletimeout } : {}) }, storage: { s3: settings(root) } });
  const server = createHttpServer(createApp({ config, storage: driver, logger: pino({ level: 'silent' }) }), config.http);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { http: supertest(server), url, driver };
}

async function patch(http: Client, location: string, bytes: Buffer, start: number): Promise<supertest.Response> {
  return http
    .patch(location)
    .set('Content-Type', 'application/octet-stream')
    .set('Content-Range', `${start}-${start + bytes.length - 1}`)
    .send(bytes);
}

describe('registry on S3', () => {
  it('takes a chunked push whose chunks (under 5 MiB) go to two apps in turn, and serves it from either', async () => {
    const root = `it/${randomUUID()}`;
    const a = await app(root);
    const b = await app(root);
    const bytes = randomBlob(13 * MiB + 5);
    const digest = sha256(bytes);
    const started = await a.http.post('/v2/team/app/blobs/uploads/');
    expect(started.status).toBe(202);
    let location = started.headers.location as string;
    const step = 3 * MiB;
    for (let start = 0, i = 0; start < bytes.length; start += step, i++) {
      const res = await patch(i % 2 === 0 ? b.http : a.http, location, bytes.subarray(start, start + step), start);
      expect(res.status, res.text).toBe(202);
      expect(res.headers.range).toBe(`0-${Math.min(bytes.length, start + step) - 1}`);
      location = res.headers.location as string;
    }
    const done = await a.http.put(`${location}?digest=${digest}`);
    expect(done.status, done.text).toBe(201);
    for (const { http } of [a, b]) {
      const got = await raw(http.get(`/v2/team/app/blobs/${digest}`));
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(digest);
    }
    const ranged = await raw(b.http.get(`/v2/team/app/blobs/${digest}`).set('Range', 'bytes=3145720-3145735'));
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(bytes.subarray(3145720, 3145736))).toBe(true);
    expect(await a.driver.list('/uploads')).toEqual([]);
  });

  it('a commit that takes longer than http.idletimeout (the session continued elsewhere: its bytes re-read and verified) is not cut off', async () => {
    const root = `it/${randomUUID()}`;
    // the PATCHes go through an app with the default timeout; the final PUT through another, whose
    // 100 ms are shorter than completing the multipart upload and reading its 64 MiB back to verify them
    // (about 260 ms on a quiet 2-core machine: 300 ms did not always hold the commit past the timeout)
    const first = await app(root);
    const { http } = await app(root, {}, '100ms');
    const bytes = randomBlob(64 * MiB + 3);
    const digest = sha256(bytes);
    let location = (await first.http.post('/v2/slow/commit/blobs/uploads/')).headers.location as string;
    for (let start = 0; start < bytes.length; start += 8 * MiB) {
      const res = await patch(first.http, location, bytes.subarray(start, start + 8 * MiB), start);
      expect(res.status, res.text).toBe(202);
      location = res.headers.location as string;
    }
    const started = performance.now();
    const done = await http.put(`${location}?digest=${digest}`);
    expect(done.status, done.text).toBe(201);
    expect(performance.now() - started).toBeGreaterThan(100);
    expect(sha256((await raw(first.http.get(`/v2/slow/commit/blobs/${digest}`))).body)).toBe(digest);
  });

  it('refuses a wrong digest for a session continued elsewhere (verified at the commit): nothing is stored', async () => {
    const root = `it/${randomUUID()}`;
    const [a, b] = [await app(root), await app(root)];
    const bytes = randomBlob(12 * MiB);
    const location = (await a.http.post('/v2/wrong/digest/blobs/uploads/')).headers.location as string;
    const res = await patch(a.http, location, bytes, 0);
    expect(res.status, res.text).toBe(202);
    const wrong = sha256(Buffer.from('something else'));
    expectError(await b.http.put(`${res.headers.location as string}?digest=${wrong}`), 400, 'DIGEST_INVALID');
    expect((await b.http.head(`/v2/wrong/digest/blobs/${wrong}`)).status).toBe(404);
    expect((await a.http.head(`/v2/wrong/digest/blobs/${sha256(bytes)}`)).status).toBe(404);
    expect(await a.driver.list('/')).not.toContain('blobs');
  });

  it('pushes a manifest through one app and lists and pulls it through another', async () => {
    const root = `it/${randomUUID()}`;
    const a = await app(root);
    const b = await app(root);
    const image = await pushImage(a.http, 'shared/img', 'v1');
    expect((await b.http.get('/v2/shared/img/tags/list')).body).toEqual({ name: 'shared/img', tags: ['v1'] });
    expect((await b.http.get('/v2/_catalog')).body).toEqual({ repositories: ['shared/img'] });
    const pulled = await raw(b.http.get('/v2/shared/img/manifests/v1').set('Accept', image.mediaType));
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(image.body)).toBe(true);
  });

  it("refuses a manifest whose layer descriptor's size is not the stored blob's (400 MANIFEST_INVALID), and takes the right one", async () => {
    const { http } = await app(`it/${randomUUID()}`);
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'sized', blob.bytes);
    const layer = image.layers[0]!;
    const manifest = (size: number) =>
      encodeManifest({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: image.config.digest, size: image.config.size },
        layers: [{ mediaType: MEDIA.ociLayer, digest: layer.digest, size }],
      });
    const message = expectError(await putManifest(http, 'sized', 'v1', manifest(layer.size + 1)), 400, 'MANIFEST_INVALID');
    expect(message).toContain(`${layer.digest} gives size ${layer.size + 1}, but the stored blob is ${layer.size} bytes`);
    expect((await putManifest(http, 'sized', 'v1', manifest(layer.size))).status).toBe(201);
  });

  it('of two concurrent PATCHes at one offset through two apps, at most one is taken; the other gets 416', async () => {
    const root = `it/${randomUUID()}`;
    const a = await app(root);
    const b = await app(root);
    const first = randomBlob(1000);
    const started = await a.http.post('/v2/race/blobs/uploads/');
    const location = started.headers.location as string;
    expect((await patch(a.http, location, first, 0)).status).toBe(202);
    const chunks = [randomBlob(2 * MiB), randomBlob(2 * MiB + 7)];
    const results = await Promise.all([patch(a.http, location, chunks[0]!, 1000), patch(b.http, location, chunks[1]!, 1000)]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(1);
    for (const r of results) if (r.status !== 202) expectError(r, 416, 'RANGE_INVALID');
    const winner = statuses.indexOf(202);
    const want = Buffer.concat([first, ...(winner === -1 ? [] : [chunks[winner]!])]);
    const status = await b.http.get(location);
    expect(status.headers.range).toBe(`0-${want.length - 1}`);
    const done = await b.http.put(`${location}?digest=${sha256(want)}`);
    expect(done.status, done.text).toBe(201);
  });

  it('with redirects, GET answers 307 to a presigned URL that serves the blob; HEAD stays local', async () => {
    const root = `it/${randomUUID()}`;
    const { http } = await app(root, { redirectExpiry: 600 });
    const bytes = randomBlob(3000);
    const digest = sha256(bytes);
    const started = await http.post('/v2/redir/blobs/uploads/');
    expect((await http.put(`${started.headers.location as string}?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes)).status).toBe(201);

    const head = await http.head(`/v2/redir/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('3000');
    const res = await http.get(`/v2/redir/blobs/${digest}`).redirects(0);
    expect(res.status).toBe(307);
    expect(res.headers['docker-content-digest']).toBe(digest);
    const location = res.headers.location as string;
    expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/${root}/blobs/sha256/`)).toBe(true);
    expect(location).toContain('X-Amz-Expires=600');
    const fetched = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(sha256(fetched)).toBe(digest);
    expectError(await http.get(`/v2/other/blobs/${digest}`).redirects(0), 404, 'NAME_UNKNOWN');
  });
});

describe('S3 failures', () => {
  it('a store that keeps answering 503 is retried, then the client gets 503 UNAVAILABLE with a clear message', async () => {
    let requests = 0;
    const failing = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    });
    await new Promise<void>((done) => failing.listen(0, '127.0.0.1', done));
    servers.push(failing);
    const endpoint = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
    const driver = new S3Driver({ bucket: 'down', region: 'us-east-1', endpoint, forcePathStyle: true, accessKey: 'k', secretKey: 's', rootDirectory: '', chunkSize: 5 * MiB, maxAttempts: 3 });
    const config = s3Config({ bucket: 'down', endpoint, forcepathstyle: true, accesskey: 'k', secretkey: 's' });
    const server = createHttpServer(createApp({ config, storage: driver, logger: pino({ level: 'silent' }) }), config.http);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    const res = await supertest(server).get(`/v2/any/blobs/${sha256('x')}`);
    const message = expectError(res, 503, 'UNAVAILABLE');
    expect(message).toMatch(/^storage unavailable: s3: the S3 store is unavailable \((?:SlowDown, )?HTTP 503\) after 3 attempts; try again later$/);
    expect(res.headers['retry-after']).toBe('5');
    // the small request without the SDK (s3-small.ts: anything but 200/404 goes to the SDK), then the SDK's 3 attempts
    expect(requests).toBe(4);
  });

  it.each([
    ['a missing bucket', () => settings('x', { bucket: 'no-such-bucket' }), /^storage\.s3\.bucket = "no-such-bucket": no such bucket at http/],
    ['refused credentials', () => settings('x', { accesskey: 'wrong', secretkey: 'wrong' }), /^storage\.s3\.accesskey\/secretkey: the S3 store at http\S+ refused access to bucket "wharf-test"/],
    ['an unreachable endpoint', () => settings('x', { endpoint: 'http://127.0.0.1:9' }), /^storage\.s3\.endpoint = "http:\/\/127\.0\.0\.1:9": the S3 store cannot be reached \(ECONNREFUSED\)/],
  ])('start-up names the cause of %s as a configuration error', async (_, make, message) => {
    const err = await startServer(s3Config(make()), pino({ level: 'silent' })).then(
      (running) => running.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('wharf gc on S3', () => {
  it('collects the blobs of a deleted image from the bucket and keeps the rest', async () => {
    const root = `gc-${randomUUID()}`;
    const { http } = await app(root);
    const kept = await pushImage(http, 'team/kept', 'v1');
    const gone = await pushImage(http, 'team/gone', 'v1');
    expect((await http.delete(`/v2/team/gone/manifests/${gone.digest}`)).status).toBe(202);
    const file = configFile(JSON.stringify({ storage: { s3: settings(root) }, gc: { grace: '0s' } }));
    let printed = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        printed += chunk.toString();
        done();
      },
    });
    await gc({ config: file }, out, out);
    // the image's config, two layers and the deleted manifest's own bytes
    expect(printed).toMatch(/deleted 0 tags \(retention\), 0 manifests, 4 blobs \(\d+ bytes\), 3 blob links/);
    for (const blob of [gone.config, ...gone.layers]) expectError(await http.head(`/v2/team/gone/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
    for (const blob of [kept.config, ...kept.layers]) expect((await http.get(`/v2/team/kept/blobs/${blob.digest}`)).status).toBe(200);
    expect((await http.get('/v2/team/kept/manifests/v1')).status).toBe(200);
  });
});
