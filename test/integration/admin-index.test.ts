/**
 * The admin index (src/registry/admin-index/): what the admin API answers stays exactly what the
 * storage holds (computed naively in index-helpers.ts) through pushes, tag moves, tag and manifest
 * deletes, a repository delete, garbage collection and a restart; and processes sharing one storage
 * agree within the stated bound (`admin.index.poll` plus two seconds), a `wharf gc` in a process of its
 * own included, and a new process starts from the snapshot.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { gc } from '../../src/cli/gc.js';
import { adminIndexOf } from '../../src/registry/admin-index/admin-index-of.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import * as layout from '../../src/storage/layout.js';
import { eventually, forEachDriver, pushBlob, pushImage, pushIndex, putManifest, TEST_GC_TIMING, testConfig, type Client } from './harness.js';
import { expectAgreeWithin, expectExact } from './index-helpers.js';

/** Runs a garbage collection through the admin API and waits for it to end. */
async function collect(http: Client, body: object): Promise<void> {
  const started = await http.post('/admin/v1/gc').send(body);
  expect(started.status, started.text).toBe(202);
  const id = (started.body as { id: string }).id;
  await eventually(async () => ((await http.get(`/admin/v1/gc/${id}`)).body as { state: string }).state === 'succeeded', `GC run ${id}`);
}

forEachDriver((make) => {
  describe('the admin index', () => {
    it('stays exact through pushes, tag moves, deletes, garbage collection and a restart', async () => {
      let registry = await make({ gc: { grace: '0s' } });
      const { http, driver } = registry;
      await expectExact(http, driver, 'empty');
      const app = await pushImage(http, 'team/app', '1.0', { layers: 2 });
      await pushImage(http, 'team/app', '1.1', { layers: 1 });
      const other = await pushImage(http, 'team/other', 'v1', { layers: 1 });
      await pushBlob(http, 'team/other', app.layers[0]!.bytes); // a blob link no manifest references yet
      await expectExact(http, driver, 'pushes');

      const moved = await pushImage(http, 'team/app', '1.0', { layers: 1 });
      await expectExact(http, driver, 'tag move');
      expect((await putManifest(http, 'team/other', 'shared', app.body)).status).toBe(400); // team/other lacks the second layer
      await pushBlob(http, 'team/other', app.layers[1]!.bytes);
      await pushBlob(http, 'team/other', app.config.bytes);
      expect((await putManifest(http, 'team/other', 'shared', app.body)).status).toBe(201); // the same image in two repositories: shared
      await expectExact(http, driver, 'the same image in two repositories');

      expect((await http.delete('/v2/team/other/manifests/v1')).status).toBe(202);
      await expectExact(http, driver, 'tag delete through /v2/');
      expect((await http.delete('/admin/v1/repositories/team/app/tags/1.1')).status).toBe(202);
      await expectExact(http, driver, 'tag delete through the admin API');
      expect((await http.delete(`/v2/team/app/manifests/${moved.digest}`)).status).toBe(202);
      await expectExact(http, driver, 'manifest delete');

      await pushIndex(http, 'multi', 'v1', 2);
      await pushImage(http, 'multi', undefined, { artifactType: 'application/vnd.example.sbom', subject: other.descriptor, layers: 1 });
      await expectExact(http, driver, 'index and referrer');
      expect((await http.delete('/admin/v1/repositories/team/other')).status).toBe(202);
      await expectExact(http, driver, 'repository delete');

      await collect(http, { deleteUntagged: true });
      await expectExact(http, driver, 'garbage collection');

      registry = await registry.restart();
      await expectExact(registry.http, registry.driver, 'restart');
      await pushImage(registry.http, 'after/restart', 'v1', { layers: 1 });
      await expectExact(registry.http, registry.driver, 'push after the restart');
    });

    it('is exact when built by a walk of a registry that holds content (no snapshot): manifests, shared and orphan blobs, an index', async () => {
      let registry = await make({ gc: { grace: '0s' } });
      const app = await pushImage(registry.http, 'team/app', '1.0', { layers: 2 });
      await pushImage(registry.http, 'team/app', undefined, { layers: 1 }); // untagged
      await pushBlob(registry.http, 'team/other', app.layers[0]!.bytes); // shared through a link alone
      expect((await putManifest(registry.http, 'team/copy', 'c', app.body)).status).toBe(400);
      for (const b of [app.config, ...app.layers]) await pushBlob(registry.http, 'team/copy', b.bytes);
      expect((await putManifest(registry.http, 'team/copy', 'c', app.body)).status).toBe(201); // the same image twice: shared
      await pushIndex(registry.http, 'multi', 'v1', 2);
      await pushBlob(registry.http, 'orphan'); // stored, referenced by no manifest
      await expectExact(registry.http, registry.driver, 'pushes');
      await adminIndexOf(registry.driver).stop();
      await registry.driver.delete(layout.indexSnapshot());
      registry = await registry.restart();
      await expectExact(registry.http, registry.driver, 'walk');
      expect(((await registry.http.get('/admin/v1/index')).body as { source: string }).source).toBe('walk');
    });

    it('filters, sorts and pages repositories and tags with cursors that cover every entry once', async () => {
      const { http } = await make();
      for (const [name, layers] of [['a/one', 3], ['b/two', 1], ['c/three', 2], ['d/four', 1], ['e/five', 4]] as const) await pushImage(http, name, 'v1', { layers });
      for (const tag of ['x', 'y', 'z']) await pushImage(http, 'b/two', tag, { layers: 1 });
      const all = ((await http.get('/admin/v1/repositories')).body as { repositories: { name: string; tags: number; bytes: { total: number } }[] }).repositories;
      const byTotal = [...all].sort((p, q) => q.bytes.total - p.bytes.total || (p.name < q.name ? -1 : 1)).map((r) => r.name);

      const seen: string[] = [];
      let url: string | undefined = '/admin/v1/repositories?n=2&sort=total&order=desc';
      while (url) {
        const res = await http.get(url);
        expect(res.status, res.text).toBe(200);
        const body = res.body as { repositories: { name: string }[]; total: number; next: string | null };
        expect(body.total).toBe(5);
        seen.push(...body.repositories.map((r) => r.name));
        url = /<([^>]+)>/.exec(String(res.headers.link ?? ''))?.[1];
        if (url) expect(url).toContain(`cursor=${body.next}`);
      }
      expect(seen).toEqual(byTotal);

      const filtered = (await http.get('/admin/v1/repositories?q=o&sort=tags&order=desc')).body as { repositories: { name: string }[]; total: number };
      expect(filtered.repositories.map((r) => r.name)).toEqual(['b/two', 'a/one', 'd/four']);
      expect(filtered.total).toBe(3);
      const one = await http.get('/admin/v1/repositories/b/two');
      expect(one.body).toMatchObject({ name: 'b/two', tags: 4, manifests: 4 });

      const tags = await http.get('/admin/v1/repositories/b/two/tags?n=2&sort=pushedAt&order=desc');
      expect((tags.body as { tags: { tag: string }[] }).tags.map((t) => t.tag)).toEqual(['z', 'y']);
      const rest = await http.get(`/admin/v1/repositories/b/two/tags?cursor=${(tags.body as { next: string }).next}`);
      expect((rest.body as { tags: { tag: string }[]; next: string | null }).tags.map((t) => t.tag)).toEqual(['x', 'v1']);
      expect((rest.body as { next: string | null }).next).toBeNull();
    });

    it('answers 400 QUERY_INVALID for an unknown sort or order, a forged cursor, or a cursor given another sort', async () => {
      const { http } = await make();
      for (const name of ['a', 'b', 'c']) await pushImage(http, name, 'v1', { layers: 1 });
      const first = await http.get('/admin/v1/repositories?n=1&sort=tags');
      const cursor = (first.body as { next: string }).next;
      for (const query of ['sort=size', 'order=up', 'cursor=bm90IGpzb24', `cursor=${cursor}&sort=name`, 'sort=tags&last=a']) {
        const res = await http.get(`/admin/v1/repositories?${query}`);
        expect(res.status, query).toBe(400);
        expect((res.body as { errors: { code: string }[] }).errors[0]!.code).toBe('QUERY_INVALID');
      }
      expect((await http.get('/admin/v1/repositories/a/tags?sort=lastPush')).status).toBe(400);
      expect((await http.get(`/admin/v1/repositories?cursor=${cursor}&sort=tags`)).status).toBe(200);
    });

    it('reports the platforms of an image and of an index', async () => {
      const { http } = await make();
      await pushImage(http, 'p', 'one', { layers: 1 });
      await pushIndex(http, 'p', 'multi', 2);
      const tags = ((await http.get('/admin/v1/repositories/p/tags')).body as { tags: { tag: string; platforms: unknown[] }[] }).tags;
      expect(tags.find((t) => t.tag === 'one')!.platforms).toEqual([{ os: 'linux', architecture: 'amd64' }]);
      expect(tags.find((t) => t.tag === 'multi')!.platforms).toHaveLength(2);
    });
  });
});

describe('processes sharing one storage', () => {
  const roots: string[] = [];
  const drivers: StorageDriver[] = [];
  afterEach(async () => {
    await Promise.all(drivers.splice(0).map((d) => adminIndexOf(d).stop()));
    await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
  });

  const POLL_MS = 250;
  const BOUND_MS = POLL_MS + 2000;

  function startProcess(root: string): { http: Client; driver: StorageDriver } {
    const driver = new FilesystemDriver(root);
    drivers.push(driver);
    const config = testConfig('filesystem', root, { gc: { grace: '0s' } });
    config.admin.index.poll = POLL_MS;
    const app = createApp({ config, storage: driver, logger: pino({ level: 'silent' }), gc: TEST_GC_TIMING });
    void adminIndexOf(driver).start(); // as `wharf serve` does
    return { http: supertest(app), driver };
  }

  it('agree within admin.index.poll plus two seconds: pushes, deletes and a `wharf gc` of another process; a new process starts from the snapshot', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-index-'));
    roots.push(root);
    const a = startProcess(root);
    const b = startProcess(root);
    await adminIndexOf(a.driver).start();
    await adminIndexOf(b.driver).start();

    await pushImage(a.http, 'team/app', '1.0', { layers: 2 });
    await pushImage(a.http, 'team/app', undefined, { layers: 1 }); // untagged: garbage for --delete-untagged
    await pushBlob(a.http, 'team/app'); // an orphan blob
    const lag = await expectAgreeWithin(b.http, b.driver, BOUND_MS, 'B sees A\'s pushes');
    expect(lag).toBeLessThanOrEqual(BOUND_MS);

    await pushImage(b.http, 'team/other', 'v1', { layers: 1 });
    expect((await b.http.delete('/admin/v1/repositories/team/app/tags/1.0')).status).toBe(202);
    await expectAgreeWithin(a.http, a.driver, BOUND_MS, "A sees B's push and tag delete");

    const config = join(root, '..', `${root.split('/').at(-1)}.yml`);
    await writeFile(config, `storage:\n  filesystem:\n    rootdirectory: ${root}\ngc:\n  grace: 0s\nlog:\n  level: silent\n`);
    roots.push(config);
    const out: string[] = [];
    await gc({ config, deleteUntagged: true, json: true }, { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, { write: () => true } as unknown as NodeJS.WritableStream);
    expect(JSON.parse(out.join('')) as object).toMatchObject({ manifestsDeleted: 2 });
    await expectAgreeWithin(a.http, a.driver, BOUND_MS, 'A sees the gc');
    await expectAgreeWithin(b.http, b.driver, BOUND_MS, 'B sees the gc');

    await adminIndexOf(a.driver).stop();
    const c = startProcess(root);
    await adminIndexOf(c.driver).start();
    expect(adminIndexOf(c.driver).status()).toMatchObject({ state: 'ready', source: 'snapshot' });
    await expectExact(c.http, c.driver, 'a new process, from the snapshot and the journal');
  });
});
