/**
 * `POST /admin/v1/import`: a `docker save` tarball (the old format, `manifest.json` last) and an OCI
 * image layout tarball, both built here from bytes, imported as a push would leave them; and the
 * errors: bad form 400, bad tarball 400, size limit 413, with nothing left behind after a failure.
 */
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { Digest } from '../../src/oci/digest.js';
import * as layout from '../../src/storage/layout.js';
import { encodeManifest, expectError, forEachDriver, MEDIA, pushBlob, pushImage, putManifest, randomBlob, raw, sha256, type Client } from './harness.js';
import { startImport, untilNoUploads, untilStored, untilUploadsHold } from './streamed-import.js';
import { dockerSaveTarball, layerTar, OCI_LAYOUT, ociBlob, ociIndexJson, ociManifest, packTar } from './tarballs.js';

/** Posts `tarball` to the import endpoint with the target `reference`. */
function importTarball(http: Client, reference: string, tarball: Buffer): supertest.Test {
  return http.post('/admin/v1/import').field('reference', reference).attach('tarball', tarball, 'image.tar');
}

/** What the registry holds besides blob bytes: its repositories and its upload sessions. */
async function leftovers(http: Client): Promise<{ repositories: string[]; uploads: number }> {
  const catalog = (await http.get('/v2/_catalog')).body as { repositories: string[] };
  const storage = (await http.get('/admin/v1/storage')).body as { uploads: { count: number } };
  return { repositories: catalog.repositories, uploads: storage.uploads.count };
}

/** One image in the old `docker save` format: a config and two layers (the second one 100 kB). */
interface SavedImage {
  config: Buffer;
  layers: Buffer[];
  /** the image's tarball */
  complete: Buffer;
  /** the same files, but `manifest.json` also names a layer the tarball lacks: the import fails at its end */
  broken: Buffer;
  /** where both tarballs are cut to pause an import: 50 kB into the second layer, so every entry before it is stored */
  pause: number;
  /** where both tarballs are cut to pause an import once it stored every layer: 50 kB into the v1 `json` file after them */
  stored: number;
}

async function savedImage(): Promise<SavedImage> {
  const layers = [(await layerTar(3000)).bytes, (await layerTar(100_000)).bytes];
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } }));
  const files = [
    { name: 'config.json', content: config },
    { name: 'aaa/layer.tar', content: layers[0]! },
    { name: 'bbb/layer.tar', content: layers[1]! },
    { name: 'bbb/json', content: Buffer.from(`{"pad":"${'x'.repeat(100_000)}"}`) },
  ];
  const tarball = (names: string[]) => packTar([...files, { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: 'config.json', Layers: names }])) }]);
  const broken = await tarball(['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar']);
  const complete = await tarball(['aaa/layer.tar', 'bbb/layer.tar']);
  return { config, layers, complete, broken, pause: broken.indexOf(layers[1]!) + 50_000, stored: broken.indexOf('{"pad":') + 50_000 };
}

/** Pushes `image` through `/v2/` as a client does, tagged `tag` (blobs, then the Docker schema 2 manifest). */
async function pushSaved(http: Client, name: string, tag: string, image: SavedImage): Promise<void> {
  for (const blob of [image.config, ...image.layers]) await pushBlob(http, name, blob);
  const manifest = encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config: { mediaType: MEDIA.dockerConfig, digest: sha256(image.config), size: image.config.length },
    layers: image.layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: sha256(l), size: l.length })),
  });
  const res = await putManifest(http, name, tag, manifest);
  expect(res.status, res.text).toBe(201);
}

/** Asserts that `name:tag` pulls: its manifest, then its config and every layer, byte for byte. */
async function expectPullable(http: Client, name: string, tag: string, image: SavedImage): Promise<void> {
  expect((await http.get(`/v2/${name}/manifests/${tag}`).set('Accept', MEDIA.dockerManifest)).status).toBe(200);
  for (const blob of [image.config, ...image.layers]) {
    const got = await raw(http.get(`/v2/${name}/blobs/${sha256(blob)}`));
    expect(got.status, `blob ${sha256(blob)}`).toBe(200);
    expect(got.body.equals(blob)).toBe(true);
  }
}

forEachDriver((make) => {
  describe('POST /admin/v1/import: docker save format', () => {
    it('converts it to a Docker schema 2 manifest with the config and layer tars as blobs, tagged as asked (201)', async () => {
      const { http } = await make();
      const saved = await dockerSaveTarball([await layerTar(3000), await layerTar(200_000)]);
      const res = await importTarball(http, 'team/app:1.0', saved.tarball);
      expect(res.status, res.text).toBe(201);
      const body = res.body as { repository: string; tag: string; digest: string; mediaType: string; format: string };
      expect(body).toEqual({ repository: 'team/app', tag: '1.0', digest: body.digest, mediaType: MEDIA.dockerManifest, format: 'docker-save' });
      expect(res.headers['docker-content-digest']).toBe(body.digest);

      const manifest = await raw(http.get('/v2/team/app/manifests/1.0').set('Accept', MEDIA.dockerManifest));
      expect(manifest.status).toBe(200);
      expect(manifest.headers['content-type']).toBe(MEDIA.dockerManifest);
      expect(sha256(manifest.body)).toBe(body.digest);
      const parsed = JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string; size: number; mediaType: string }; layers: { digest: string; size: number; mediaType: string }[] };
      expect(parsed.config).toEqual({ mediaType: 'application/vnd.docker.container.image.v1+json', digest: saved.config.digest, size: saved.config.bytes.length });
      expect(parsed.layers).toEqual(saved.layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: l.digest, size: l.bytes.length })));
      for (const blob of [saved.config, ...saved.layers]) {
        const got = await raw(http.get(`/v2/team/app/blobs/${blob.digest}`));
        expect(got.status).toBe(200);
        expect(got.body.equals(blob.bytes)).toBe(true);
      }
      // as a push leaves it: the manifest is not linked as a blob, the v1 json files are not stored at all
      expectError(await http.get(`/v2/team/app/blobs/${body.digest}`), 404, 'BLOB_UNKNOWN');
      const stored = manifest.body.length + saved.config.bytes.length + saved.layers[0]!.bytes.length + saved.layers[1]!.bytes.length;
      expect((await http.get('/admin/v1/storage')).body).toEqual({ blobs: { count: 4, bytes: stored }, uploads: { count: 0, bytes: 0 }, repositories: 1, tags: 1, manifests: 1 });
      expect((await http.get('/admin/v1/repositories/team/app/tags')).body).toMatchObject({ tags: [{ tag: '1.0', digest: body.digest }] });
    });

    it('takes the tag latest when the reference has none, and marks gzip-compressed layers as such', async () => {
      const { http } = await make();
      const layer = await layerTar(500);
      const gz = gzipSync(layer.bytes);
      const saved = await dockerSaveTarball([{ bytes: gz, digest: sha256(gz) }]);
      const res = await importTarball(http, 'library/busy', saved.tarball);
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ repository: 'library/busy', tag: 'latest' });
      const manifest = JSON.parse((await raw(http.get('/v2/library/busy/manifests/latest'))).body.toString('utf8')) as { layers: { mediaType: string }[] };
      expect(manifest.layers.map((l) => l.mediaType)).toEqual([MEDIA.dockerLayer, MEDIA.dockerLayer]);
    });
  });

  describe('POST /admin/v1/import: gzip-compressed tarballs', () => {
    it('reads a gzip-compressed tarball (docker save | gzip) as docker load does', async () => {
      const { http } = await make();
      const saved = await dockerSaveTarball([await layerTar(5000)]);
      const res = await importTarball(http, 'team/app:gz', gzipSync(saved.tarball));
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ tag: 'gz', format: 'docker-save' });
      expect((await raw(http.get(`/v2/team/app/blobs/${saved.layers[0]!.digest}`))).body.equals(saved.layers[0]!.bytes)).toBe(true);
    });

    it('answers 400 BLOB_UPLOAD_INVALID for a corrupt gzip stream and 413 when it expands past admin.import.maxbytes', async () => {
      const registry = await make();
      const http = supertest(createApp({ config: { ...registry.config, admin: { ...registry.config.admin, import: { maxbytes: 64 * 1024 } } }, storage: registry.driver, logger: pino({ level: 'silent' }) }));
      const saved = await dockerSaveTarball([await layerTar(2000)]);
      const corrupt = gzipSync(saved.tarball);
      corrupt.fill(0xff, 20, 60);
      expectError(await importTarball(http, 'team/app:1', corrupt), 400, 'BLOB_UPLOAD_INVALID');
      const bomb = gzipSync(await packTar([{ name: 'zeros', content: Buffer.alloc(1024 * 1024) }]));
      expect(bomb.length).toBeLessThan(64 * 1024);
      expect(expectError(await importTarball(http, 'team/app:1', bomb), 413, 'SIZE_INVALID')).toContain('decompressed');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });
  });

  describe('POST /admin/v1/import: OCI image layout', () => {
    it('imports the manifest index.json names byte for byte, in whatever order the entries come', async () => {
      const { http } = await make();
      const config = Buffer.from('{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
      const layers = [(await layerTar(4000)).bytes, (await layerTar(70_000)).bytes];
      const manifest = ociManifest(config, layers);
      const tarball = await packTar([ociIndexJson(manifest.descriptor), ociBlob(manifest.body), ociBlob(layers[1]!), OCI_LAYOUT, ociBlob(config), ociBlob(layers[0]!)]);
      const res = await importTarball(http, 'team/app:oci', tarball);
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({ repository: 'team/app', tag: 'oci', digest: manifest.descriptor.digest, mediaType: MEDIA.ociManifest, format: 'oci-layout' });
      const got = await raw(http.get('/v2/team/app/manifests/oci').set('Accept', MEDIA.ociManifest));
      expect(got.body.equals(manifest.body)).toBe(true);
      for (const blob of [config, ...layers]) expect((await raw(http.get(`/v2/team/app/blobs/${sha256(blob)}`))).body.equals(blob)).toBe(true);
      expectError(await http.get(`/v2/team/app/blobs/${manifest.descriptor.digest}`), 404, 'BLOB_UNKNOWN');
    });

    it('imports an image index with its children', async () => {
      const { http } = await make();
      const shared = (await layerTar(100)).bytes;
      const children = [0, 1].map((i) => ociManifest(Buffer.from(`{"architecture":"a${i}","os":"linux"}`), [shared]));
      const index = encodeManifest({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: children.map((c) => c.descriptor) });
      const indexDescriptor = { mediaType: MEDIA.ociIndex, digest: sha256(index), size: index.length };
      const tarball = await packTar([
        OCI_LAYOUT,
        ociBlob(shared),
        ...children.flatMap((c, i) => [ociBlob(c.body), ociBlob(Buffer.from(`{"architecture":"a${i}","os":"linux"}`))]),
        ociBlob(index),
        ociIndexJson(indexDescriptor),
      ]);
      const res = await importTarball(http, 'team/multi:1', tarball);
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ digest: indexDescriptor.digest, mediaType: MEDIA.ociIndex });
      for (const c of children) expect((await http.get(`/v2/team/multi/manifests/${c.descriptor.digest}`)).status).toBe(200);
    });

    it('refuses a blob entry whose bytes do not hash to its name (400 DIGEST_INVALID) and leaves nothing', async () => {
      const { http } = await make();
      const config = Buffer.from('{}');
      const manifest = ociManifest(config, [randomBlob(10)]);
      const lying = { name: `blobs/sha256/${sha256(config).slice(7)}`, content: Buffer.from('not the config') };
      const res = await importTarball(http, 'team/app:1', await packTar([OCI_LAYOUT, ociBlob(manifest.body), lying, ociIndexJson(manifest.descriptor)]));
      expectError(res, 400, 'DIGEST_INVALID');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });

    it('refuses an index.json of several images (400 MANIFEST_INVALID)', async () => {
      const { http } = await make();
      const a = ociManifest(Buffer.from('{}'), []);
      const b = ociManifest(Buffer.from('{"a":1}'), []);
      const res = await importTarball(http, 'team/app:1', await packTar([ociIndexJson(a.descriptor, b.descriptor), ociBlob(a.body), ociBlob(b.body)]));
      expect(expectError(res, 400, 'MANIFEST_INVALID')).toContain('2 images');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });
  });

  describe('POST /admin/v1/import: other requests into the same repository meanwhile', () => {
    it('a failed import leaves the blobs of an image pushed meanwhile in place', async () => {
      const { http, url } = await make();
      const image = await savedImage();
      const importing = startImport(url, 'team/app:imported', image.broken.subarray(0, image.pause));
      await untilUploadsHold(http, 50_000);
      await pushSaved(http, 'team/app', 'pushed', image);
      const res = await importing.end(image.broken.subarray(image.pause));
      expect(res.status, res.body.toString()).toBe(400);
      expect(res.body.toString()).toContain('ccc/layer.tar');
      await expectPullable(http, 'team/app', 'pushed', image);
    });

    it('a failed import leaves the blobs of the same image imported meanwhile in place', async () => {
      const { http, url } = await make();
      const image = await savedImage();
      const importing = startImport(url, 'team/app:first', image.broken.subarray(0, image.pause));
      await untilUploadsHold(http, 50_000);
      expect((await importTarball(http, 'team/app:second', image.complete)).status).toBe(201);
      expect((await importing.end(image.broken.subarray(image.pause))).status).toBe(400);
      await expectPullable(http, 'team/app', 'second', image);
    });

    it('a successful import keeps the link of a blob it held but did not need, which an image pushed meanwhile uses', async () => {
      const { http, url } = await make();
      const extra = randomBlob(2000);
      const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
      const layer = (await layerTar(100_000)).bytes;
      const manifest = ociManifest(config, [layer]);
      const tarball = await packTar([OCI_LAYOUT, ociBlob(extra), ociBlob(config), ociBlob(layer), ociBlob(manifest.body), ociIndexJson(manifest.descriptor)]);
      const pause = tarball.indexOf(layer) + 50_000;
      const importing = startImport(url, 'team/app:imported', tarball.subarray(0, pause));
      await untilUploadsHold(http, 50_000);
      const pushed = await pushImage(http, 'team/app', 'pushed', { layers: 1 });
      await pushBlob(http, 'team/app', extra);
      const uses = encodeManifest({ ...(JSON.parse(pushed.body.toString('utf8')) as object), layers: [{ mediaType: MEDIA.ociLayer, digest: sha256(extra), size: extra.length }] });
      expect((await putManifest(http, 'team/app', 'pushed', uses)).status).toBe(201);
      expect((await importing.end(tarball.subarray(pause))).status).toBe(201);
      expect((await raw(http.get(`/v2/team/app/blobs/${sha256(extra)}`))).body.equals(extra)).toBe(true);
      expectError(await http.get(`/v2/team/app/blobs/${manifest.descriptor.digest}`), 404, 'BLOB_UNKNOWN');
    });

    it('completes when its repository is deleted meanwhile: nothing of the import was in the repository yet', async () => {
      const { http, url } = await make();
      await pushImage(http, 'team/app', 'old');
      const image = await savedImage();
      const importing = startImport(url, 'team/app:imported', image.complete.subarray(0, image.pause));
      await untilUploadsHold(http, 50_000);
      expect((await http.delete('/admin/v1/repositories/team/app')).status).toBe(202);
      const res = await importing.end(image.complete.subarray(image.pause));
      expect(res.status, res.body.toString()).toBe(201);
      await expectPullable(http, 'team/app', 'imported', image);
      expectError(await http.get('/v2/team/app/manifests/old'), 404, 'MANIFEST_UNKNOWN');
    });

    it('answers 400 MANIFEST_BLOB_UNKNOWN "vanished ... retry the import" when what it stored is removed before it ends', async () => {
      const { http, url, driver } = await make();
      const image = await savedImage();
      const importing = startImport(url, 'team/app:1', image.complete.subarray(0, image.stored));
      const size = image.config.length + image.layers[0]!.length + image.layers[1]!.length;
      await untilStored(http, size);
      // what a garbage collection or an upload purge that ignored the import would do: its sessions and bytes go
      await driver.delete(layout.UPLOADS);
      for (const blob of [image.config, ...image.layers]) await driver.delete(layout.blobData(sha256(blob) as Digest));
      const res = await importing.end(image.complete.subarray(image.stored));
      expect(res.status).toBe(400);
      const error = (JSON.parse(res.body.toString()) as { errors: { code: string; message: string }[] }).errors[0]!;
      expect(error.code).toBe('MANIFEST_BLOB_UNKNOWN');
      expect(error.message).toMatch(/vanished before the import ended .*: retry the import$/);
    });

    it('a client that goes away mid-import leaves no upload session and nothing in the repository', async () => {
      const { http, url } = await make();
      const image = await savedImage();
      const importing = startImport(url, 'team/app:1', image.complete.subarray(0, image.pause));
      await untilUploadsHold(http, 50_000);
      importing.drop();
      await untilNoUploads(http);
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });
  });

  describe('POST /admin/v1/import: errors', () => {
    it('answers 400 for a missing or bad reference, a reference after the file, or no multipart body', async () => {
      const { http } = await make();
      const saved = await dockerSaveTarball([await layerTar(100)]);
      expectError(await http.post('/admin/v1/import').attach('tarball', saved.tarball, 'image.tar'), 400, 'NAME_INVALID');
      expectError(await importTarball(http, 'Team/App:1', saved.tarball), 400, 'NAME_INVALID');
      expectError(await importTarball(http, 'team/app:-x', saved.tarball), 400, 'TAG_INVALID');
      const late = await http.post('/admin/v1/import').attach('tarball', saved.tarball, 'image.tar').field('reference', 'team/app:1');
      expect(expectError(late, 400, 'NAME_INVALID')).toContain('before');
      expectError(await http.post('/admin/v1/import').send({ reference: 'team/app:1' }), 400, 'BLOB_UPLOAD_INVALID');
      expectError(await http.post('/admin/v1/import').field('reference', 'team/app:1'), 400, 'BLOB_UPLOAD_INVALID');
      expectError(await http.post('/admin/v1/import').set('Content-Type', 'multipart/form-data; boundary=x').send('--x\r\nbroken'), 400, 'BLOB_UPLOAD_INVALID');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });

    it('answers 400 BLOB_UPLOAD_INVALID for a form field besides reference and tarball, before or after the file, and stores nothing', async () => {
      const { http } = await make();
      const saved = await dockerSaveTarball([await layerTar(100)]);
      const before = http.post('/admin/v1/import').field('reference', 'team/app:1').field('foo', 'bar').attach('tarball', saved.tarball, 'image.tar');
      expect(expectError(await before, 400, 'BLOB_UPLOAD_INVALID')).toContain('"foo"');
      const after = http.post('/admin/v1/import').field('reference', 'team/app:1').attach('tarball', saved.tarball, 'image.tar').field('foo', 'bar');
      expect(expectError(await after, 400, 'BLOB_UPLOAD_INVALID')).toContain('"foo"');
      const twice = http.post('/admin/v1/import').field('reference', 'team/app:1').attach('tarball', saved.tarball, 'image.tar').field('reference', 'team/app:2');
      expect(expectError(await twice, 400, 'BLOB_UPLOAD_INVALID')).toContain('"reference"');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });

    it('answers 400 BLOB_UPLOAD_INVALID for bytes that are not a tar archive, 400 MANIFEST_INVALID for a tar without a manifest', async () => {
      const { http } = await make();
      expectError(await importTarball(http, 'team/app:1', randomBlob(5000)), 400, 'BLOB_UPLOAD_INVALID');
      const cut = (await dockerSaveTarball([await layerTar(50_000)])).tarball.subarray(0, 30_000); // ends inside a layer
      expect(expectError(await importTarball(http, 'team/app:1', cut), 400, 'BLOB_UPLOAD_INVALID')).toContain('cannot read the tarball');
      const noManifest = await packTar([{ name: 'abc/layer.tar', content: (await layerTar(100)).bytes }]);
      expect(expectError(await importTarball(http, 'team/app:1', noManifest), 400, 'MANIFEST_INVALID')).toContain('manifest.json');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });

    it('answers 400 MANIFEST_INVALID when an image config is not a JSON object (or is larger than 4 MiB), and stores nothing', async () => {
      const { http } = await make();
      const layer = await layerTar(100);
      const dockerSave = (config: Buffer) =>
        packTar([
          { name: 'aaa/layer.tar', content: layer.bytes },
          { name: 'cfg.json', content: config },
          { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: 'cfg.json', Layers: ['aaa/layer.tar'] }])) },
        ]);
      const layerAsConfig = await packTar([
        { name: 'aaa/layer.tar', content: layer.bytes },
        { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: 'aaa/layer.tar', Layers: ['aaa/layer.tar'] }])) },
      ]);
      expect(expectError(await importTarball(http, 'team/app:1', layerAsConfig), 400, 'MANIFEST_INVALID')).toMatch(/aaa\/layer\.tar .*not a JSON object \(it is not valid JSON\)/);
      expect(expectError(await importTarball(http, 'team/app:1', await dockerSave(Buffer.from('[1,2]'))), 400, 'MANIFEST_INVALID')).toContain('it is array');
      const huge = Buffer.from(`{"pad":"${'x'.repeat(4 * 1024 * 1024)}"}`);
      expect(expectError(await importTarball(http, 'team/app:1', await dockerSave(huge)), 400, 'MANIFEST_INVALID')).toContain('larger than');
      const notJson = Buffer.from('not json');
      const oci = ociManifest(notJson, [layer.bytes]);
      const res = await importTarball(http, 'team/app:1', await packTar([OCI_LAYOUT, ociBlob(notJson), ociBlob(layer.bytes), ociBlob(oci.body), ociIndexJson(oci.descriptor)]));
      expect(expectError(res, 400, 'MANIFEST_INVALID')).toContain(`config ${sha256(notJson)}`);
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });

    it('imports an artifact whose config is not an image config without reading it', async () => {
      const { http } = await make();
      const config = randomBlob(50);
      const body = encodeManifest({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: 'application/vnd.example.config.v1+octet-stream', digest: sha256(config), size: config.length },
        layers: [],
      });
      const descriptor = { mediaType: MEDIA.ociManifest, digest: sha256(body), size: body.length };
      expect((await importTarball(http, 'team/artifact:1', await packTar([OCI_LAYOUT, ociBlob(config), ociBlob(body), ociIndexJson(descriptor)]))).status).toBe(201);
    });

    it('answers 400 MANIFEST_BLOB_UNKNOWN when manifest.json names a layer the tarball lacks, and removes what it stored', async () => {
      const { http } = await make();
      const layer = await layerTar(100);
      const config = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
      const tarball = await packTar([
        { name: 'aaa/layer.tar', content: layer.bytes },
        { name: 'cfg.json', content: config },
        { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: 'cfg.json', Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }])) },
      ]);
      expect(expectError(await importTarball(http, 'team/app:1', tarball), 400, 'MANIFEST_BLOB_UNKNOWN')).toContain('bbb/layer.tar');
      expect(await leftovers(http)).toEqual({ repositories: [], uploads: 0 });
    });

    it('leaves the blob links a repository had before a failed import', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'team/app', '1.0', { layers: 1 });
      const tarball = await packTar([
        { name: 'aaa/layer.tar', content: image.layers[0]!.bytes },
        { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: 'missing.json', Layers: ['aaa/layer.tar'] }])) },
      ]);
      expectError(await importTarball(http, 'team/app:2.0', tarball), 400, 'MANIFEST_BLOB_UNKNOWN');
      expect((await http.get(`/v2/team/app/blobs/${image.layers[0]!.digest}`)).status).toBe(200);
      expect((await http.get('/v2/team/app/manifests/1.0')).status).toBe(200);
    });

    it('answers 413 SIZE_INVALID past admin.import.maxbytes and leaves nothing behind', async () => {
      const registry = await make();
      const limited = createApp({
        config: { ...registry.config, admin: { ...registry.config.admin, import: { maxbytes: 64 * 1024 } } },
        storage: registry.driver,
        logger: pino({ level: 'silent' }),
      });
      const http = supertest(limited);
      const small = await dockerSaveTarball([await layerTar(1000)]);
      expect((await importTarball(http, 'team/small:1', small.tarball)).status).toBe(201);
      const big = await dockerSaveTarball([await layerTar(20_000), await layerTar(200_000)]);
      const res = await importTarball(http, 'team/big:1', big.tarball);
      expect(expectError(res, 413, 'SIZE_INVALID')).toContain('admin.import.maxbytes');
      expect(await leftovers(http)).toEqual({ repositories: ['team/small'], uploads: 0 });
    });
  });
});
