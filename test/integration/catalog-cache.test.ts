/**
 * `GET /v2/_catalog` from the in-process cache: what this process pushes or deletes (through the
 * registry API, the admin API or a garbage collection run) shows at once; what another process does
 * on the same storage shows after the cache's max age (two apps on one folder, with a clock the test moves).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { GcRunRecord } from '../../src/gc/runs.js';
import { CATALOG_MAX_AGE_MS } from '../../src/registry/catalog.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { eventually, forEachDriver, pushImage, testConfig, TEST_GC_TIMING, type Client } from './harness.js';

async function catalog(http: Client): Promise<string[]> {
  const res = await http.get('/v2/_catalog');
  expect(res.status, res.text).toBe(200);
  return (res.body as { repositories: string[] }).repositories;
}

forEachDriver((make) => {
  describe('_catalog follows this process at once', () => {
    it('a repository pushed after the catalog was read is listed on the next request', async () => {
      const { http } = await make();
      await pushImage(http, 'b/old', 'v1');
      expect(await catalog(http)).toEqual(['b/old']);
      await pushImage(http, 'a/new', 'v1');
      await pushImage(http, 'c', undefined);
      expect(await catalog(http)).toEqual(['a/new', 'b/old', 'c']);
    });

    it('a repository deleted through the admin API is gone on the next request', async () => {
      const { http } = await make();
      for (const name of ['gone', 'stays']) await pushImage(http, name, 'v1');
      expect(await catalog(http)).toEqual(['gone', 'stays']);
      expect((await http.delete('/admin/v1/repositories/gone')).status).toBe(202);
      expect(await catalog(http)).toEqual(['stays']);
    });

    it('a repository whose manifest and blob links were all deleted through /v2/ is gone on the next request', async () => {
      const { http } = await make();
      const image = await pushImage(http, 'emptied', 'v1');
      await pushImage(http, 'stays', 'v1');
      expect(await catalog(http)).toEqual(['emptied', 'stays']);
      expect((await http.delete(`/v2/emptied/manifests/${image.digest}`)).status).toBe(202);
      for (const blob of [image.config, ...image.layers]) expect((await http.delete(`/v2/emptied/blobs/${blob.digest}`)).status).toBe(202);
      expect(await catalog(http)).toEqual(['stays']);
    });

    it('a garbage collection run started through the admin API removes a repository it empties, on the next request', async () => {
      const { http } = await make({ gc: { grace: '0s' } });
      await pushImage(http, 'untagged', undefined);
      await pushImage(http, 'tagged', 'v1');
      expect(await catalog(http)).toEqual(['tagged', 'untagged']);
      const started = await http.post('/admin/v1/gc').send({ deleteUntagged: true });
      expect(started.status, started.text).toBe(202);
      const id = (started.body as { id: string }).id;
      let record: GcRunRecord | undefined;
      await eventually(async () => {
        record = (await http.get(`/admin/v1/gc/${id}`)).body as GcRunRecord;
        return record.state !== 'running';
      }, 'the GC run to finish');
      expect(record).toMatchObject({ state: 'succeeded', report: { manifestsDeleted: 1 } });
      expect(await catalog(http)).toEqual(['tagged']);
    });
  });
});

describe('two apps on one storage folder (two processes)', () => {
  const roots: string[] = [];
  afterEach(async () => {
    await Promise.all(roots.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it("one app's push and delete show in the other's _catalog after the max age, not before", async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-catalog-'));
    roots.push(root);
    let time = Date.parse('2026-01-01T00:00:00Z');
    const app = () =>
      supertest(
        createApp({
          config: testConfig('filesystem', root),
          storage: new FilesystemDriver(root),
          logger: pino({ level: 'silent' }),
          now: () => new Date(time),
          gc: TEST_GC_TIMING,
        }),
      );
    const a = app();
    const b = app();
    expect(await catalog(b)).toEqual([]);

    await pushImage(a, 'shared', 'v1');
    expect(await catalog(a)).toEqual(['shared']);
    time += CATALOG_MAX_AGE_MS - 1;
    expect(await catalog(b)).toEqual([]);
    time += 1;
    await eventually(async () => (await catalog(b)).includes('shared'), "b's catalog to list the repository a pushed");

    expect((await a.delete('/admin/v1/repositories/shared')).status).toBe(202);
    expect(await catalog(a)).toEqual([]);
    expect(await catalog(b)).toEqual(['shared']);
    time += CATALOG_MAX_AGE_MS;
    await eventually(async () => (await catalog(b)).length === 0, "b's catalog to drop the repository a deleted");
  });
});
