/**
 * The admin API's read and delete endpoints (docs/admin-api.md): repositories with their unique and
 * shared bytes, tags with their sizes, deleting repositories and tags, storage totals, and the
 * errors (unknown repository 404, bad input 400, unknown path 404, wrong method 405).
 */
import { describe, expect, it } from 'vitest';
import {
  buildImage,
  encodeManifest,
  expectError,
  forEachDriver,
  MEDIA,
  pushBlob,
  pushImage,
  pushIndex,
  putManifest,
  randomBlob,
  sha256,
  type BuiltImage,
  type Client,
} from './harness.js';

interface RepositorySummary {
  name: string;
  tags: number;
  manifests: number;
  bytes: { unique: number; shared: number; total: number };
  lastPush: string | null;
}

interface TagSummary {
  tag: string;
  digest: string;
  mediaType: string;
  platforms: { os: string; architecture: string; variant?: string }[];
  size: number;
  pushedAt: string;
}

/** Bytes of an image: manifest, config and layers. */
function imageBytes(image: BuiltImage): number {
  return image.body.length + image.config.size + image.layers.reduce((a, l) => a + l.size, 0);
}

/** Pushes to `name` an image whose layers are `shared` (pushed again, same bytes) plus one new layer; tagged `tag`. */
async function pushSharing(http: Client, name: string, tag: string, shared: Buffer): Promise<{ body: Buffer; config: Buffer; own: Buffer }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: sha256(randomBlob()) }));
  const own = randomBlob(300);
  for (const b of [config, shared, own]) await pushBlob(http, name, b);
  const body = encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
    layers: [shared, own].map((l) => ({ mediaType: MEDIA.ociLayer, digest: sha256(l), size: l.length })),
  });
  const res = await putManifest(http, name, tag, body);
  expect(res.status, res.text).toBe(201);
  return { body, config, own };
}

forEachDriver((make) => {
  describe('GET /admin/v1/repositories', () => {
    it('reports tags, manifests, unique and shared bytes and the last push of every repository', async () => {
      const { http } = await make();
      const before = new Date().toISOString();
      const app = await pushImage(http, 'team/app', '1.0', { layers: 2 });
      const other = await pushSharing(http, 'team/other', 'v1', app.layers[0]!.bytes);
      await pushImage(http, 'team/app', undefined, { layers: 1 }); // an untagged manifest counts too
      const after = new Date().toISOString();

      const res = await http.get('/admin/v1/repositories');
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const repos = (res.body as { repositories: RepositorySummary[] }).repositories;
      expect(repos.map((r) => r.name)).toEqual(['team/app', 'team/other']);
      const [appSummary, otherSummary] = repos as [RepositorySummary, RepositorySummary];

      const shared = app.layers[0]!.size;
      const tags = (await http.get('/admin/v1/repositories/team/app/tags')).body as { tags: TagSummary[] };
      expect(appSummary.tags).toBe(1);
      expect(appSummary.manifests).toBe(2);
      expect(appSummary.bytes.shared).toBe(shared);
      expect(appSummary.bytes.total).toBe(appSummary.bytes.unique + shared);
      expect(appSummary.lastPush).toBe(tags.tags[0]!.pushedAt);
      expect(appSummary.lastPush! >= before && appSummary.lastPush! <= after).toBe(true);

      expect(otherSummary).toEqual({
        name: 'team/other',
        tags: 1,
        manifests: 1,
        bytes: { unique: other.body.length + other.config.length + other.own.length, shared, total: other.body.length + other.config.length + other.own.length + shared },
        lastPush: otherSummary.lastPush,
      });
      // team/app's unique bytes: its tagged image without the shared layer, plus the untagged image whole
      const untagged = appSummary.bytes.unique - (imageBytes(app) - shared);
      expect(untagged).toBeGreaterThan(0);
    });

    it('paginates as _catalog does: n, last and a Link to the next page', async () => {
      const { http } = await make();
      for (const name of ['a/one', 'b/two', 'c/three']) await pushImage(http, name, 'latest', { layers: 1 });
      const first = await http.get('/admin/v1/repositories?n=2');
      expect(first.status).toBe(200);
      expect((first.body as { repositories: RepositorySummary[] }).repositories.map((r) => r.name)).toEqual(['a/one', 'b/two']);
      expect(first.headers.link).toBe('</admin/v1/repositories?n=2&last=b%2Ftwo>; rel="next"');
      const next = await http.get('/admin/v1/repositories?n=2&last=b%2Ftwo');
      expect((next.body as { repositories: RepositorySummary[] }).repositories.map((r) => r.name)).toEqual(['c/three']);
      expect(next.headers.link).toBeUndefined();
    });

    it('answers an empty list for an empty registry and 400 for a bad n', async () => {
      const { http } = await make();
      expect((await http.get('/admin/v1/repositories')).body).toEqual({ repositories: [], total: 0, next: null });
      expectError(await http.get('/admin/v1/repositories?n=many'), 400, 'PAGINATION_NUMBER_INVALID');
    });
  });

  describe('GET /admin/v1/repositories/{name}/tags', () => {
    it('reports digest, media type, size and push time of each tag; an index counts its children once', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'team/app', '1.0', { layers: 2 });
      const { index, children } = await pushIndex(http, 'team/app', 'multi', 2);
      const res = await http.get('/admin/v1/repositories/team/app/tags');
      expect(res.status, res.text).toBe(200);
      const body = res.body as { name: string; tags: TagSummary[] };
      expect(body.name).toBe('team/app');
      expect(body.tags.map((t) => t.tag)).toEqual(['1.0', 'multi']);
      const [plain, multi] = body.tags as [TagSummary, TagSummary];
      expect(plain).toEqual({
        tag: '1.0',
        digest: image.digest,
        mediaType: MEDIA.ociManifest,
        platforms: [{ os: 'linux', architecture: 'amd64' }],
        size: imageBytes(image),
        pushedAt: plain.pushedAt,
      });
      expect(Number.isNaN(Date.parse(plain.pushedAt))).toBe(false);
      expect(multi).toMatchObject({ tag: 'multi', digest: index.digest, mediaType: MEDIA.ociIndex });
      expect(multi.size).toBe(index.body.length + children.reduce((a, c) => a + imageBytes(c), 0));
    });

    it('counts a blob shared by two children of an index once', async () => {
      const { http } = await make();
      const shared = randomBlob(500);
      const a = await pushSharing(http, 'team/app', 'a', shared);
      const b = await pushSharing(http, 'team/app', 'b', shared);
      const children = [a, b].map((c) => ({ mediaType: MEDIA.ociManifest, digest: sha256(c.body), size: c.body.length }));
      const indexBody = encodeManifest({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: children });
      expect((await putManifest(http, 'team/app', 'both', indexBody)).status).toBe(201);
      const tags = ((await http.get('/admin/v1/repositories/team/app/tags')).body as { tags: TagSummary[] }).tags;
      const both = tags.find((t) => t.tag === 'both')!;
      const perChild = (c: typeof a) => c.body.length + c.config.length + c.own.length;
      expect(both.size).toBe(indexBody.length + perChild(a) + perChild(b) + shared.length);
    });

    it('paginates with n and last', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'team/app', 'a', { layers: 1 });
      for (const t of ['b', 'c']) expect((await putManifest(http, 'team/app', t, image.body)).status).toBe(201);
      const res = await http.get('/admin/v1/repositories/team/app/tags?n=2');
      expect((res.body as { tags: TagSummary[] }).tags.map((t) => t.tag)).toEqual(['a', 'b']);
      expect(res.headers.link).toBe('</admin/v1/repositories/team/app/tags?n=2&last=b>; rel="next"');
      const next = await http.get('/admin/v1/repositories/team/app/tags?n=2&last=b');
      expect((next.body as { tags: TagSummary[] }).tags.map((t) => t.tag)).toEqual(['c']);
    });

    it('answers 404 NAME_UNKNOWN for an unknown repository and 400 NAME_INVALID for a bad name', async () => {
      const { http } = await make();
      expectError(await http.get('/admin/v1/repositories/no/such/tags'), 404, 'NAME_UNKNOWN');
      expectError(await http.get('/admin/v1/repositories/Bad_Name/tags'), 400, 'NAME_INVALID');
    });
  });

  describe('DELETE /admin/v1/repositories/{name}/tags/{tag}', () => {
    it('untags (202); the manifest stays and pulls by digest', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'team/app', '1.0', { layers: 1 });
      await putManifest(http, 'team/app', '2.0', image.body).expect(201);
      const res = await http.delete('/admin/v1/repositories/team/app/tags/1.0');
      expect(res.status, res.text).toBe(202);
      expect((await http.get('/v2/team/app/tags/list')).body).toEqual({ name: 'team/app', tags: ['2.0'] });
      expectError(await http.get('/v2/team/app/manifests/1.0'), 404, 'MANIFEST_UNKNOWN');
      expect((await http.get(`/v2/team/app/manifests/${image.digest}`)).status).toBe(200);
    });

    it('answers 404 MANIFEST_UNKNOWN for an unknown tag, 404 NAME_UNKNOWN for an unknown repository, 400 TAG_INVALID', async () => {
      const { http } = await make();
      await pushImage(http, 'team/app', '1.0', { layers: 1 });
      const message = expectError(await http.delete('/admin/v1/repositories/team/app/tags/2.0'), 404, 'MANIFEST_UNKNOWN');
      expect(message).toContain('tag 2.0');
      expectError(await http.delete('/admin/v1/repositories/no/such/tags/1.0'), 404, 'NAME_UNKNOWN');
      expectError(await http.delete('/admin/v1/repositories/team/app/tags/-bad'), 400, 'TAG_INVALID');
    });
  });

  describe('DELETE /admin/v1/repositories/{name}', () => {
    it('removes tags, manifests, referrers and blob links (202); nested repositories and blob bytes stay', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'team', '1.0', { layers: 2 });
      await pushImage(http, 'team', undefined, { artifactType: 'application/vnd.example.sbom', subject: image.descriptor, layers: 1 });
      const nested = await pushImage(http, 'team/app', '1.0', { layers: 1 });
      const storageBefore = (await http.get('/admin/v1/storage')).body as { blobs: { count: number } };

      const res = await http.delete('/admin/v1/repositories/team');
      expect(res.status, res.text).toBe(202);
      expect(res.text).toBe('');

      expect((await http.get('/v2/_catalog')).body).toEqual({ repositories: ['team/app'] });
      expectError(await http.get('/v2/team/tags/list'), 404, 'NAME_UNKNOWN');
      expectError(await http.get(`/v2/team/manifests/${image.digest}`), 404, 'NAME_UNKNOWN');
      expectError(await http.get(`/v2/team/blobs/${image.layers[0]!.digest}`), 404, 'NAME_UNKNOWN');
      expect((await http.get(`/v2/team/app/manifests/${nested.digest}`)).status).toBe(200);
      expectError(await http.get('/admin/v1/repositories/team/tags'), 404, 'NAME_UNKNOWN');
      // the bytes are garbage collection's to free
      expect(((await http.get('/admin/v1/storage')).body as { blobs: { count: number } }).blobs.count).toBe(storageBefore.blobs.count);

      // the name can be pushed again from scratch
      await pushImage(http, 'team', '2.0', { layers: 1 });
      expect((await http.get('/v2/team/tags/list')).body).toEqual({ name: 'team', tags: ['2.0'] });
      expect(((await http.get(`/v2/team/referrers/${image.digest}`)).body as { manifests: unknown[] }).manifests).toEqual([]);
    });

    it('answers 404 NAME_UNKNOWN for an unknown repository and 400 NAME_INVALID for a bad name', async () => {
      const { http } = await make();
      expectError(await http.delete('/admin/v1/repositories/no/such'), 404, 'NAME_UNKNOWN');
      expectError(await http.delete('/admin/v1/repositories/UPPER'), 400, 'NAME_INVALID');
    });
  });

  describe('GET /admin/v1/storage', () => {
    it('counts blobs (manifests included) and upload sessions with their bytes', async () => {
      const { http } = await make();
      expect((await http.get('/admin/v1/storage')).body).toEqual({ blobs: { count: 0, bytes: 0 }, uploads: { count: 0, bytes: 0 }, repositories: 0, tags: 0, manifests: 0 });
      const image = buildImage({ layers: 2 });
      for (const b of [image.config, ...image.layers]) await pushBlob(http, 'team/app', b.bytes);
      await putManifest(http, 'team/app', '1.0', image.body).expect(201);
      await pushBlob(http, 'team/other', image.layers[0]!.bytes); // the same bytes again: still one blob
      const session = await http.post('/v2/team/app/blobs/uploads/').expect(202);
      await http.patch(session.headers.location as string).set('Content-Type', 'application/octet-stream').send(Buffer.alloc(10)).expect(202);
      await http.post('/v2/team/app/blobs/uploads/').expect(202);

      const res = await http.get('/admin/v1/storage');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ blobs: { count: 4, bytes: imageBytes(image) }, uploads: { count: 2, bytes: 10 }, repositories: 2, tags: 1, manifests: 1 });
    });
  });

  describe('unknown paths and methods', () => {
    it('answers 404 JSON for an unknown path under /admin/v1 and 405 with Allow for a wrong method', async () => {
      const { http } = await make();
      expectError(await http.get('/admin/v1/nothing'), 404, 'UNSUPPORTED');
      expectError(await http.get('/admin/v1'), 404, 'UNSUPPORTED');
      const put = await http.put('/admin/v1/repositories');
      expectError(put, 405, 'UNSUPPORTED');
      expect(put.headers.allow).toBe('GET, HEAD');
      expect((await http.get('/admin/v1/import')).headers.allow).toBe('POST');
    });

    it('percent-decodes paths as /v2/ does: names, the tags keyword and tags; 400 NAME_INVALID for malformed encoding', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'imp/base', '1');
      expect((await http.get('/v2/imp/%62ase/tags/list')).body).toEqual({ name: 'imp/base', tags: ['1'] });
      for (const path of ['/admin/v1/repositories/imp/%62ase/tags', '/admin/v1/repositories/imp%2Fbase/tags', '/admin/v1/repositories/imp/base/%74ags']) {
        const res = await http.get(path);
        expect(res.status, `${path}: ${res.text}`).toBe(200);
        expect(res.body).toMatchObject({ name: 'imp/base', tags: [{ tag: '1', digest: image.digest }] });
      }
      expectError(await http.get('/admin/v1/repositories/imp/b%zzase/tags'), 400, 'NAME_INVALID');
      expect((await http.delete('/admin/v1/repositories/imp/base/tags/%31')).status).toBe(202);
      expect((await http.get('/admin/v1/repositories/imp/base/tags')).body).toEqual({ name: 'imp/base', tags: [], total: 0, next: null });
      expect((await http.delete('/admin/v1/repositories/imp%2Fbase')).status).toBe(202);
      expect((await http.get('/v2/_catalog')).body).toEqual({ repositories: [] });
    });
  });
});
