/**
 * Retention policies (`gc.retention`), applied by a collection before it marks: keeplast, keeptags,
 * olderthan, deleteuntagged, repository globs, the first matching rule, dry runs, and a tag pushed
 * again after the rule evaluated it.
 */
import { describe, expect, it } from 'vitest';
import type { RetentionRule } from '../../src/config/schema.js';
import { deleteTagIfUnchanged, RetentionPolicy } from '../../src/gc/retention.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import type { TagLink } from '../../src/registry/manifests.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import * as layout from '../../src/storage/layout.js';
import { collect, HOUR } from './gc-helpers.js';
import { expectError, forEachDriver, pushImage, putManifest, raw, type Client } from './harness.js';

/** Pushes one image per tag of `ages` to `name`, then dates each tag's push `age` ms ago. */
async function pushTags(http: Client, driver: StorageDriver, name: string, ages: Record<string, number>): Promise<void> {
  for (const [tag, age] of Object.entries(ages)) {
    const image = await pushImage(http, name, tag);
    const link: TagLink = { digest: image.digest as TagLink['digest'], pushedAt: new Date(Date.now() - age).toISOString() };
    await driver.putContent(layout.tag(name as RepositoryName, tag as Tag), JSON.stringify(link));
  }
}

async function tagsOf(http: Client, name: string): Promise<string[]> {
  return ((await http.get(`/v2/${name}/tags/list`)).body as { tags: string[] }).tags;
}

const rule = (r: Partial<RetentionRule> & { name: string }): RetentionRule => r as RetentionRule;

forEachDriver((make) => {
  describe('retention', () => {
    it('keeplast keeps the N most recently pushed tags of the repositories its glob matches', async () => {
      const { http, driver } = await make();
      const ages = { a: 4 * HOUR, b: 3 * HOUR, c: 2 * HOUR, d: HOUR };
      await pushTags(http, driver, 'ci/app', ages);
      await pushTags(http, driver, 'ci/deep/app', ages); // `*` stays within one path component
      await pushTags(http, driver, 'prod/app', ages);
      const report = await collect(driver, { retention: [rule({ name: 'ci/*', keeplast: 2 })] });
      expect(report).toMatchObject({ tagsDeleted: 2, manifestsDeleted: 0 }); // untagged manifests stay without deleteuntagged
      expect(report.repositories['ci/app']).toMatchObject({ tagsDeleted: 2 });
      expect(await tagsOf(http, 'ci/app')).toEqual(['c', 'd']);
      expect(await tagsOf(http, 'ci/deep/app')).toEqual(['a', 'b', 'c', 'd']);
      expect(await tagsOf(http, 'prod/app')).toEqual(['a', 'b', 'c', 'd']);
    });

    it('keeptags protects matching tags from keeplast and olderthan', async () => {
      const { http, driver } = await make();
      await pushTags(http, driver, 'ci/app', { main: 5 * HOUR, 'v1.0': 4 * HOUR, feature: 3 * HOUR, latest: HOUR });
      const report = await collect(driver, { retention: [rule({ name: 'ci/*', keeplast: 1, keeptags: '^(main|v[0-9].*)$' })] });
      expect(report.tagsDeleted).toBe(1);
      expect(await tagsOf(http, 'ci/app')).toEqual(['latest', 'main', 'v1.0']);
    });

    it('olderthan deletes tags pushed longer ago; with keeplast, the newest stay even when old', async () => {
      const { http, driver } = await make();
      await pushTags(http, driver, 'team/app', { ancient: 800 * HOUR, old: 721 * HOUR, recent: 24 * HOUR });
      await pushTags(http, driver, 'team/lib', { x: 3 * HOUR, y: 2 * HOUR });
      const report = await collect(driver, {
        retention: [rule({ name: 'team/lib', keeplast: 1, olderthan: HOUR }), rule({ name: '**', olderthan: 720 * HOUR })],
      });
      expect(report.tagsDeleted).toBe(3);
      expect(await tagsOf(http, 'team/app')).toEqual(['recent']);
      expect(await tagsOf(http, 'team/lib')).toEqual(['y']);
    });

    it('the first matching rule applies; a rule with only keeptags deletes nothing', async () => {
      const { http, driver } = await make();
      await pushTags(http, driver, 'ci/keep', { a: 2 * HOUR, b: HOUR });
      await pushTags(http, driver, 'ci/other', { a: 2 * HOUR, b: HOUR });
      await pushTags(http, driver, 'lib/app', { a: 2 * HOUR });
      const report = await collect(driver, {
        retention: [rule({ name: 'ci/keep', keeplast: 10 }), rule({ name: 'ci/*', keeplast: 0 }), rule({ name: 'lib/*', keeptags: '^x$' })],
      });
      expect(report.tagsDeleted).toBe(2);
      expect(await tagsOf(http, 'ci/keep')).toEqual(['a', 'b']);
      expect(await tagsOf(http, 'ci/other')).toEqual([]);
      expect(await tagsOf(http, 'lib/app')).toEqual(['a']);
    });

    it('deleteuntagged deletes the untagged manifests of matching repositories only, with what retention untagged', async () => {
      const { http, driver } = await make();
      await pushTags(http, driver, 'ci/app', { old: 2 * HOUR, new: HOUR });
      const ciUntagged = await pushImage(http, 'ci/app', undefined);
      const prodUntagged = await pushImage(http, 'prod/app', undefined);
      const report = await collect(driver, { retention: [rule({ name: 'ci/*', keeplast: 1, deleteuntagged: true })] });
      expect(report).toMatchObject({ tagsDeleted: 1, manifestsDeleted: 2, blobsDeleted: 8 });
      expectError(await http.get(`/v2/ci/app/manifests/${ciUntagged.digest}`), 404, 'MANIFEST_UNKNOWN');
      expect((await http.get(`/v2/prod/app/manifests/${prodUntagged.digest}`)).status).toBe(200);
      expect((await http.get('/v2/ci/app/manifests/new')).status).toBe(200);
    });

    it('a dry run reports the tags it would delete and deletes none', async () => {
      const { http, driver } = await make();
      await pushTags(http, driver, 'ci/app', { a: 2 * HOUR, b: HOUR });
      const dry = await collect(driver, { dryRun: true, retention: [rule({ name: 'ci/*', keeplast: 1, deleteuntagged: true })] });
      expect(dry).toMatchObject({ tagsDeleted: 1, manifestsDeleted: 1, blobsDeleted: 4 });
      expect(await tagsOf(http, 'ci/app')).toEqual(['a', 'b']);
    });

    it('a tag pushed again after the rule evaluated it survives', async () => {
      const { http, driver } = await make();
      await pushTags(http, driver, 'ci/app', { a: 2 * HOUR, b: HOUR });
      const name = 'ci/app' as RepositoryName;
      const tags = new Map<Tag, TagLink>();
      for (const t of ['a', 'b'] as Tag[]) tags.set(t, JSON.parse((await driver.getContent(layout.tag(name, t))).toString('utf8')) as TagLink);
      const [deletion] = new RetentionPolicy([rule({ name: 'ci/*', keeplast: 1 })]).plan(name, tags, Date.now());
      expect(deletion?.tag).toBe('a');
      const again = await raw(http.get('/v2/ci/app/manifests/a'));
      expect((await putManifest(http, 'ci/app', 'a', again.body)).status).toBe(201);
      expect(await deleteTagIfUnchanged(driver, deletion!)).toBe(false);
      expect(await tagsOf(http, 'ci/app')).toEqual(['a', 'b']);
    });
  });
});
