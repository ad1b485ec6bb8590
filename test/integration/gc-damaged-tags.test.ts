/**
 * Garbage collection over a tag whose stored object holds no tag link (damaged storage: the registry
 * writes tags whole): the registry still lists the tag, so a run must not take its manifest for
 * untagged and delete the image; it stops, naming the tag, and deletes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import * as layout from '../../src/storage/layout.js';
import { allObjects, collect, expectImage } from './gc-helpers.js';
import { forEachDriver, pushImage } from './harness.js';

forEachDriver((make) => {
  describe('a damaged tag', () => {
    for (const [what, content] of [
      ['empty', ''],
      ['not JSON', 'garbage'],
      ['JSON null', 'null'],
      ['JSON without a digest', '{"pushedAt":"2026-12-08T00:00:00.000Z"}'],
    ] as const) {
      it(`(${what}) stops the run, naming the tag, and nothing is deleted, with deleteUntagged too`, async () => {
        const { http, driver } = await make();
        const image = await pushImage(http, 'repo', 'v1');
        const tagPath = layout.tag('repo' as RepositoryName, 'v1' as Tag);
        const link = await driver.getContent(tagPath);
        await driver.putContent(tagPath, content);
        expect((await http.get('/v2/repo/tags/list')).body).toMatchObject({ tags: ['v1'] });
        const before = (await allObjects(driver)).filter((p) => !p.startsWith('/_gc/'));
        await expect(collect(driver, { deleteUntagged: true })).rejects.toThrow(/tag repo:v1 does not hold a tag link/);
        expect((await allObjects(driver)).filter((p) => !p.startsWith('/_gc/'))).toEqual(before);
        // repaired, the image is whole and a run keeps it
        await driver.putContent(tagPath, link);
        await expect(collect(driver, { deleteUntagged: true })).resolves.toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0 });
        await expectImage(http, 'repo', image);
      });
    }
  });
});
