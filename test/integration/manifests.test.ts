/**
 * Manifests (end-3 `GET`/`HEAD`, end-7 `PUT`, end-9 `DELETE /v2/<name>/manifests/<reference>`):
 * byte-for-byte storage, media types, validation and the documented errors.
 */
import { expect, it } from 'vitest';
import { MAX_MANIFEST_DESCRIPTORS } from '../../src/oci/manifest.js';
import {
  buildImage,
  buildIndex,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  encodeManifest,
  expectError,
  forEachDriver,
  MEDIA,
  pushBlob,
  pushImage,
  pushIndex,
  putManifest,
  randomBlob,
  randomDigest,
  raw,
  sendBytes,
  sendChunked,
  sha256,
  sha512,
  type Client,
} from './harness.js';

/** GETs a manifest and asserts 200 with exactly `body`, `mediaType` and the digest headers. */
async function expectManifest(http: Client, name: string, reference: string, body: Buffer, mediaType: string): Promise<void> {
  const res = await raw(http.get(`/v2/${name}/manifests/${reference}`).set('Accept', mediaType));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe(mediaType);
  expect(res.headers['docker-content-digest']).toBe(sha256(body));
  expect(res.headers['content-length']).toBe(String(body.length));
  expect(res.body.equals(body)).toBe(true);
}

forEachDriver((make) => {
  it('PUT by tag: 201 with Location and Docker-Content-Digest; GET by tag and digest return the same bytes', async () => {
    const { http } = await make();
    const image = buildImage();
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'team/app', blob.bytes);
    const res = await raw(putManifest(http, 'team/app', 'v1.0', image.body));
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/team/app/manifests/${image.digest}`);
    expect(res.headers['docker-content-digest']).toBe(image.digest);
    expect(res.headers['content-length']).toBe('0');
    expect(res.headers['oci-subject']).toBeUndefined();
    await expectManifest(http, 'team/app', 'v1.0', image.body, MEDIA.ociManifest);
    await expectManifest(http, 'team/app', image.digest, image.body, MEDIA.ociManifest);
  });

  it('PUT by digest: 201, GET by digest returns the same bytes and there is no tag', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'bydigest', undefined);
    await expectManifest(http, 'bydigest', image.digest, image.body, MEDIA.ociManifest);
    expect((await http.get('/v2/bydigest/tags/list')).body).toEqual({ name: 'bydigest', tags: [] });
  });

  it('stores the exact bytes pushed (whitespace, key order and a BOM-free trailing newline kept)', async () => {
    const { http } = await make();
    const config = await pushBlob(http, 'bytes', randomBlob(10));
    const body = Buffer.from(
      `{"layers":[],\n\t"config" :{"size":${config.size},"digest":"${config.digest}","mediaType":"${MEDIA.ociConfig}"},  "schemaVersion":2,"mediaType":"${MEDIA.ociManifest}"}\n\n`,
    );
    const res = await putManifest(http, 'bytes', 'odd', body);
    expect(res.status).toBe(201);
    expect(res.headers['docker-content-digest']).toBe(sha256(body));
    await expectManifest(http, 'bytes', 'odd', body, MEDIA.ociManifest);
  });

  it('HEAD by tag and by digest: 200 with Content-Type, Content-Length and Docker-Content-Digest', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'head', 'latest');
    for (const ref of ['latest', image.digest]) {
      const res = await http.head(`/v2/head/manifests/${ref}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(MEDIA.ociManifest);
      expect(res.headers['content-length']).toBe(String(image.body.length));
      expect(res.headers['docker-content-digest']).toBe(image.digest);
    }
  });

  it('accepts a Docker schema 2 manifest and serves it with its media type', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'docker', 'v2', { mediaType: MEDIA.dockerManifest });
    await expectManifest(http, 'docker', 'v2', image.body, MEDIA.dockerManifest);
  });

  it('accepts an OCI image index over pushed manifests', async () => {
    const { http } = await make();
    const { index } = await pushIndex(http, 'multi', 'latest', 3, MEDIA.ociIndex);
    await expectManifest(http, 'multi', 'latest', index.body, MEDIA.ociIndex);
    await expectManifest(http, 'multi', index.digest, index.body, MEDIA.ociIndex);
  });

  it('accepts a Docker manifest list over pushed schema 2 manifests', async () => {
    const { http } = await make();
    const { index, children } = await pushIndex(http, 'dlist', 'latest', 2, MEDIA.dockerList);
    await expectManifest(http, 'dlist', 'latest', index.body, MEDIA.dockerList);
    await expectManifest(http, 'dlist', children[0]!.digest, children[0]!.body, MEDIA.dockerManifest);
  });

  it('accepts an OCI artifact with artifactType and the empty config {}', async () => {
    const { http } = await make();
    const empty = await pushBlob(http, 'artifact', EMPTY_JSON);
    expect(empty.digest).toBe(EMPTY_JSON_DIGEST);
    const image = buildImage({ emptyConfig: true, artifactType: 'application/vnd.example.thing.v1', layers: 1 });
    expect(image.config.digest).toBe(EMPTY_JSON_DIGEST);
    await pushBlob(http, 'artifact', image.layers[0]!.bytes);
    const res = await putManifest(http, 'artifact', 'thing', image.body);
    expect(res.status).toBe(201);
    await expectManifest(http, 'artifact', 'thing', image.body, MEDIA.ociManifest);
    const got = JSON.parse((await raw(http.get('/v2/artifact/manifests/thing'))).body.toString()) as Record<string, unknown>;
    expect(got.artifactType).toBe('application/vnd.example.thing.v1');
    expect(got.config).toEqual({ mediaType: MEDIA.ociEmpty, digest: EMPTY_JSON_DIGEST, size: 2 });
  });

  it('accepts an OCI artifact whose only layer is the empty descriptor', async () => {
    const { http } = await make();
    await pushBlob(http, 'artifact', EMPTY_JSON);
    const empty = { mediaType: MEDIA.ociEmpty, digest: EMPTY_JSON_DIGEST, size: 2 };
    const body = encodeManifest({ schemaVersion: 2, mediaType: MEDIA.ociManifest, artifactType: 'application/vnd.example.flag', config: empty, layers: [empty] });
    expect((await putManifest(http, 'artifact', 'flag', body)).status).toBe(201);
    await expectManifest(http, 'artifact', 'flag', body, MEDIA.ociManifest);
  });

  it('accepts a Content-Type with parameters and serves the bare media type', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'params', blob.bytes);
    const res = await putManifest(http, 'params', 'v1', image.body, `${MEDIA.ociManifest}; charset=utf-8`);
    expect(res.status).toBe(201);
    await expectManifest(http, 'params', 'v1', image.body, MEDIA.ociManifest);
  });

  it('without a Content-Type, the body mediaType is the manifest media type', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1, mediaType: MEDIA.dockerManifest });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'notype', blob.bytes);
    const res = await sendBytes(http.put('/v2/notype/manifests/v1').unset('Content-Type'), image.body);
    expect(res.status).toBe(201);
    await expectManifest(http, 'notype', 'v1', image.body, MEDIA.dockerManifest);
  });

  it('a body without mediaType is stored with the Content-Type it was pushed with', async () => {
    const { http } = await make();
    const config = await pushBlob(http, 'nomt');
    const layer = await pushBlob(http, 'nomt');
    const body = encodeManifest({
      schemaVersion: 2,
      config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MEDIA.ociLayer, digest: layer.digest, size: layer.size }],
    });
    expect((await putManifest(http, 'nomt', 'v1', body, MEDIA.ociManifest)).status).toBe(201);
    await expectManifest(http, 'nomt', 'v1', body, MEDIA.ociManifest);
    const index = encodeManifest({ schemaVersion: 2, manifests: [{ mediaType: MEDIA.ociManifest, digest: sha256(body), size: body.length }] });
    expect((await putManifest(http, 'nomt', 'idx', index, MEDIA.ociIndex)).status).toBe(201);
    await expectManifest(http, 'nomt', 'idx', index, MEDIA.ociIndex);
  });

  it('re-pushing a tag moves it to the new manifest; the old one stays reachable by digest', async () => {
    const { http } = await make();
    const old = await pushImage(http, 'move', 'latest');
    const next = await pushImage(http, 'move', 'latest');
    await expectManifest(http, 'move', 'latest', next.body, MEDIA.ociManifest);
    await expectManifest(http, 'move', old.digest, old.body, MEDIA.ociManifest);
  });

  it('PUT by sha512 digest: 201 with that digest', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'sha512', blob.bytes);
    const digest = sha512(image.body);
    const res = await putManifest(http, 'sha512', digest, image.body);
    expect(res.status).toBe(201);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect(res.headers.location).toBe(`/v2/sha512/manifests/${digest}`);
    const got = await raw(http.get(`/v2/sha512/manifests/${digest}`));
    expect(got.status).toBe(200);
    expect(got.headers['docker-content-digest']).toBe(digest);
    expect(got.body.equals(image.body)).toBe(true);
  });

  it('PUT by a digest the body does not match: 400 DIGEST_INVALID and nothing is stored', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'wrong', blob.bytes);
    const claimed = randomDigest();
    expectError(await putManifest(http, 'wrong', claimed, image.body), 400, 'DIGEST_INVALID');
    expectError(await http.get(`/v2/wrong/manifests/${claimed}`), 404, 'MANIFEST_UNKNOWN');
    expectError(await http.get(`/v2/wrong/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  it('a Content-Type that contradicts the body mediaType: 400 MANIFEST_INVALID', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'ct', blob.bytes);
    const message = expectError(await putManifest(http, 'ct', 'v1', image.body, MEDIA.dockerManifest), 400, 'MANIFEST_INVALID');
    expect(message).toContain(MEDIA.dockerManifest);
    expect(message).toContain(MEDIA.ociManifest);
    expectError(await putManifest(http, 'ct', 'v1', image.body, MEDIA.ociIndex), 400, 'MANIFEST_INVALID');
    expectError(await http.get('/v2/ct/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('an unsupported manifest media type: 400 MANIFEST_INVALID', async () => {
    const { http } = await make();
    const body = encodeManifest({ schemaVersion: 2, mediaType: 'application/vnd.example.unknown+json', config: {}, layers: [] });
    expectError(await putManifest(http, 'mt', 'v1', body), 400, 'MANIFEST_INVALID');
  });

  it.each([
    ['not JSON', '{"schemaVersion": 2,'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"manifest"'],
    ['an empty body', ''],
  ])('a body that is %s: 400 MANIFEST_INVALID', async (_what, text) => {
    const { http } = await make();
    const res = await sendBytes(http.put('/v2/invalid/manifests/v1').set('Content-Type', MEDIA.ociManifest), text);
    expectError(res, 400, 'MANIFEST_INVALID');
  });

  it('malformed descriptors: 400 MANIFEST_INVALID', async () => {
    const { http } = await make();
    const config = await pushBlob(http, 'desc');
    const cases: object[] = [
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: 'sha256:nothex', size: 1 }, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: -1 }, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { digest: config.digest, size: config.size }, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, layers: [] },
      { schemaVersion: 3, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size }, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: 'none' },
      { schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: { mediaType: MEDIA.dockerConfig, digest: config.digest, size: config.size }, layers: [] },
    ];
    for (const manifest of cases) {
      expectError(await putManifest(http, 'desc', 'v1', encodeManifest(manifest)), 400, 'MANIFEST_INVALID');
    }
  });

  it('Docker schema 1: 400 MANIFEST_INVALID with a clear message', async () => {
    const { http } = await make();
    const body = encodeManifest({ schemaVersion: 1, name: 'old', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [], signatures: [] });
    for (const type of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
      const message = expectError(await putManifest(http, 'old', 'v1', body, type), 400, 'MANIFEST_INVALID');
      expect(message).toMatch(/schema 1/i);
      expect(message).toMatch(/not supported/);
    }
  });

  it('a manifest naming a missing config or layer: 400 MANIFEST_BLOB_UNKNOWN with the digest', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 2 });
    await pushBlob(http, 'missing', image.config.bytes);
    await pushBlob(http, 'missing', image.layers[0]!.bytes);
    const res = await putManifest(http, 'missing', 'v1', image.body);
    expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(res.body.errors[0].detail).toEqual({ digest: image.layers[1]!.digest });

    const other = buildImage({ layers: 1 });
    await pushBlob(http, 'missing', other.layers[0]!.bytes);
    const noConfig = await putManifest(http, 'missing', 'v2', other.body);
    expectError(noConfig, 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(noConfig.body.errors[0].detail).toEqual({ digest: other.config.digest });
    expectError(await http.get('/v2/missing/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it("a blob descriptor whose size is not the stored blob's: 400 MANIFEST_INVALID naming the digest and both sizes", async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'sized', blob.bytes);
    const { config, layers: [layer] } = image;
    const manifest = (configSize: number, layerSizes: number[]) =>
      encodeManifest({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: configSize },
        layers: layerSizes.map((size) => ({ mediaType: MEDIA.ociLayer, digest: layer!.digest, size })),
      });
    const wrong: [Buffer, string, number, string][] = [
      [manifest(config.size, [layer!.size + 1]), layer!.digest, layer!.size + 1, `gives size ${layer!.size + 1}, but the stored blob is ${layer!.size} bytes`],
      [manifest(config.size, [layer!.size - 1]), layer!.digest, layer!.size - 1, `gives size ${layer!.size - 1}, but the stored blob is ${layer!.size} bytes`],
      [manifest(0, [layer!.size]), config.digest, 0, `gives size 0, but the stored blob is ${config.size} bytes`],
      [manifest(config.size, [layer!.size, layer!.size + 7]), layer!.digest, layer!.size + 7, `give two sizes, ${layer!.size} and ${layer!.size + 7}`],
    ];
    for (const [body, digest, size, says] of wrong) {
      const res = await putManifest(http, 'sized', 'v1', body);
      const message = expectError(res, 400, 'MANIFEST_INVALID');
      expect(message).toContain(`${digest} ${says}`);
      expect(message).toMatch(/(the blob's|its) length/);
      expect(res.body.errors[0].detail).toMatchObject({ digest, size });
    }
    expectError(await http.get('/v2/sized/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    expect((await putManifest(http, 'sized', 'v1', manifest(config.size, [layer!.size, layer!.size]))).status).toBe(201);
  });

  it('a manifest naming a blob that only another repository has: 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const { http } = await make();
    const image = buildImage({ layers: 1 });
    for (const blob of [image.config, ...image.layers]) await pushBlob(http, 'owner', blob.bytes);
    await pushBlob(http, 'borrower');
    expectError(await putManifest(http, 'borrower', 'v1', image.body), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('an index naming a missing child manifest: 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const { http } = await make();
    const present = await pushImage(http, 'idx', undefined, { layers: 1 });
    const absent = buildImage({ layers: 1 });
    const index = buildIndex([present.descriptor, absent.descriptor]);
    const res = await putManifest(http, 'idx', 'latest', index.body);
    expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(res.body.errors[0].detail).toEqual({ digest: absent.digest });
    expectError(await http.get('/v2/idx/manifests/latest'), 404, 'MANIFEST_UNKNOWN');
  });

  it('an index whose child is a blob (not a manifest): 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'idx');
    const index = buildIndex([{ mediaType: MEDIA.ociManifest, digest: blob.digest, size: blob.size }]);
    expectError(await putManifest(http, 'idx', 'latest', index.body), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('a body over 4 MiB: 413', async () => {
    const { http } = await make();
    const config = await pushBlob(http, 'huge');
    const padding = 'x'.repeat(4 * 1024 * 1024);
    const body = encodeManifest({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: [],
      annotations: { padding },
    });
    expect(body.length).toBeGreaterThan(4 * 1024 * 1024);
    const res = await putManifest(http, 'huge', 'v1', body);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body.errors[0].code).toBe('MANIFEST_INVALID');
    expectError(await http.get('/v2/huge/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('a body of exactly 4 MiB is accepted', async () => {
    const { http } = await make();
    const config = await pushBlob(http, 'big');
    const base = encodeManifest({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: [],
      annotations: { padding: '' },
    });
    const body = encodeManifest({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: [],
      annotations: { padding: 'y'.repeat(4 * 1024 * 1024 - base.length) },
    });
    expect(body.length).toBe(4 * 1024 * 1024);
    expect((await putManifest(http, 'big', 'v1', body)).status).toBe(201);
    await expectManifest(http, 'big', 'v1', body, MEDIA.ociManifest);
  });

  it('a chunked (no Content-Length) body over 4 MiB: 413', async () => {
    const { url } = await make();
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const res = await sendChunked(`${url}/v2/huge/manifests/v1`, 'PUT', [chunk, chunk, chunk, chunk, chunk], MEDIA.ociManifest);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body.toString('utf8')).errors[0].code).toBe('MANIFEST_INVALID');
  });

  it('DELETE by digest: 202, removes the manifest and every tag pointing to it, other tags stay', async () => {
    const { http } = await make();
    const doomed = await pushImage(http, 'del', 'a');
    await putManifest(http, 'del', 'b', doomed.body).expect(201);
    const kept = await pushImage(http, 'del', 'c');
    const res = await raw(http.delete(`/v2/del/manifests/${doomed.digest}`));
    expect(res.status).toBe(202);
    expect(res.headers['content-length']).toBe('0');
    for (const ref of ['a', 'b', doomed.digest]) {
      expectError(await http.get(`/v2/del/manifests/${ref}`), 404, 'MANIFEST_UNKNOWN');
      expectError(await http.head(`/v2/del/manifests/${ref}`), 404, 'MANIFEST_UNKNOWN');
    }
    expect((await http.get('/v2/del/tags/list')).body).toEqual({ name: 'del', tags: ['c'] });
    await expectManifest(http, 'del', 'c', kept.body, MEDIA.ociManifest);
    expectError(await http.delete(`/v2/del/manifests/${doomed.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  it('DELETE by tag: 202, removes just the tag; the manifest stays reachable by digest and other tags', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'deltag', 'one');
    await putManifest(http, 'deltag', 'two', image.body).expect(201);
    expect((await http.delete('/v2/deltag/manifests/one')).status).toBe(202);
    expectError(await http.get('/v2/deltag/manifests/one'), 404, 'MANIFEST_UNKNOWN');
    await expectManifest(http, 'deltag', image.digest, image.body, MEDIA.ociManifest);
    await expectManifest(http, 'deltag', 'two', image.body, MEDIA.ociManifest);
    expect((await http.get('/v2/deltag/tags/list')).body).toEqual({ name: 'deltag', tags: ['two'] });
    expectError(await http.delete('/v2/deltag/manifests/one'), 404, 'MANIFEST_UNKNOWN');
  });

  it('a deleted manifest can be pushed again', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'again', 'v1');
    await http.delete(`/v2/again/manifests/${image.digest}`).expect(202);
    expect((await putManifest(http, 'again', 'v1', image.body)).status).toBe(201);
    await expectManifest(http, 'again', 'v1', image.body, MEDIA.ociManifest);
  });

  it('DELETE with deletes disabled: 405 UNSUPPORTED and nothing is removed', async () => {
    const { http } = await make({ deleteEnabled: false });
    const image = await pushImage(http, 'nodel', 'v1');
    expectError(await http.delete('/v2/nodel/manifests/v1'), 405, 'UNSUPPORTED');
    expectError(await http.delete(`/v2/nodel/manifests/${image.digest}`), 405, 'UNSUPPORTED');
    await expectManifest(http, 'nodel', 'v1', image.body, MEDIA.ociManifest);
  });

  it('an unknown manifest in a known repository: 404 MANIFEST_UNKNOWN by tag and by digest', async () => {
    const { http } = await make();
    await pushImage(http, 'known', 'v1');
    const byTag = await http.get('/v2/known/manifests/v2');
    expectError(byTag, 404, 'MANIFEST_UNKNOWN');
    expect(byTag.body.errors[0].detail).toEqual({ reference: 'v2' });
    expectError(await http.get(`/v2/known/manifests/${randomDigest()}`), 404, 'MANIFEST_UNKNOWN');
    expectError(await http.head('/v2/known/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
    expectError(await http.delete('/v2/known/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
  });

  it('a manifest of another repository is unknown here', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'here', 'v1');
    await pushImage(http, 'there', 'v1');
    expectError(await http.get(`/v2/there/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  it('an unknown repository: 404 NAME_UNKNOWN on GET, HEAD and DELETE', async () => {
    const { http } = await make();
    await pushImage(http, 'exists', 'v1');
    expectError(await http.get('/v2/nope/manifests/v1'), 404, 'NAME_UNKNOWN');
    expectError(await http.head('/v2/nope/manifests/v1'), 404, 'NAME_UNKNOWN');
    expectError(await http.get(`/v2/nope/manifests/${randomDigest()}`), 404, 'NAME_UNKNOWN');
    expectError(await http.delete('/v2/nope/manifests/v1'), 404, 'NAME_UNKNOWN');
  });

  it.each([
    ['starts with a dot', '.hidden'],
    ['starts with a dash', '-x'],
    ['has a plus', 'a+b'],
    ['is 129 characters', 'a'.repeat(129)],
  ])('a tag that %s: PUT and DELETE 400 TAG_INVALID; GET and HEAD 404 MANIFEST_UNKNOWN (end-3, as Distribution)', async (_what, tag) => {
    const { http } = await make();
    const image = await pushImage(http, 'tags', 'ok');
    expectError(await putManifest(http, 'tags', tag, image.body), 400, 'TAG_INVALID');
    expectError(await http.delete(`/v2/tags/manifests/${tag}`), 400, 'TAG_INVALID');
    expectError(await http.get(`/v2/tags/manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
    const head = await http.head(`/v2/tags/manifests/${tag}`);
    expect(head.status).toBe(404);
    expect(head.headers['content-type']).toBe('application/json');
  });

  // the OCI conformance suite's "GET nonexistent manifest should return 404" asks for `.INVALID_MANIFEST_NAME`
  it('GET and HEAD by the conformance suite\'s malformed reference: 404 MANIFEST_UNKNOWN, also in an unknown repository', async () => {
    const { http } = await make();
    await pushImage(http, 'conf/app', 'v1');
    expectError(await http.get('/v2/conf/app/manifests/.INVALID_MANIFEST_NAME'), 404, 'MANIFEST_UNKNOWN');
    expect((await http.head('/v2/conf/app/manifests/.INVALID_MANIFEST_NAME')).status).toBe(404);
    expectError(await http.get('/v2/conf/nope/manifests/.INVALID_MANIFEST_NAME'), 404, 'NAME_UNKNOWN');
  });

  it('a 128-character tag with every allowed character class works', async () => {
    const { http } = await make();
    const tag = `_Aa0.-${'z'.repeat(122)}`;
    expect(tag).toHaveLength(128);
    const image = await pushImage(http, 'longtag', tag);
    await expectManifest(http, 'longtag', tag, image.body, MEDIA.ociManifest);
  });

  it('a reference with a colon is a digest: a malformed one is 400 DIGEST_INVALID on PUT and DELETE, 404 MANIFEST_UNKNOWN on GET and HEAD', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'ref', 'v1');
    for (const reference of ['sha256:abc', `md5:${'a'.repeat(32)}`]) {
      expectError(await putManifest(http, 'ref', reference, image.body), 400, 'DIGEST_INVALID');
      expectError(await http.delete(`/v2/ref/manifests/${reference}`), 400, 'DIGEST_INVALID');
      expectError(await http.get(`/v2/ref/manifests/${reference}`), 404, 'MANIFEST_UNKNOWN');
      expect((await http.head(`/v2/ref/manifests/${reference}`)).status).toBe(404);
    }
  });

  it(`a manifest of more than ${MAX_MANIFEST_DESCRIPTORS} descriptors: 400 MANIFEST_INVALID naming the limit, nothing stored`, async () => {
    const { http } = await make();
    const image = await pushImage(http, 'huge', 'v1', { layers: 1 });
    const layer = JSON.parse(image.body.toString()).layers[0];
    const body = Buffer.from(JSON.stringify({ ...JSON.parse(image.body.toString()), layers: Array.from({ length: MAX_MANIFEST_DESCRIPTORS }, () => layer) }));
    const message = expectError(await putManifest(http, 'huge', 'v2', body), 400, 'MANIFEST_INVALID');
    expect(message).toContain(`at most ${MAX_MANIFEST_DESCRIPTORS}`);
    expectError(await http.get('/v2/huge/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
  });

  it('PATCH and POST on a manifest: 405 UNSUPPORTED with Allow, as JSON', async () => {
    const { http } = await make();
    await pushImage(http, 'methods', 'v1');
    for (const method of ['patch', 'post'] as const) {
      const res = await http[method]('/v2/methods/manifests/v1');
      expectError(res, 405, 'UNSUPPORTED');
      expect(res.headers.allow).toBe('GET, HEAD, PUT, DELETE');
    }
  });
});
