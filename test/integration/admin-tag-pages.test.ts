/**
 * The admin tags list of a repository of many tags, right after a start (issue 17, src/registry/
 * admin-index/tag-rows.ts): a page by name is answered from the tag listing, reading only the rows
 * of the page; the rows of every tag are then read in the background, so that a sort by push time
 * that follows reads nothing more; and pages by name, in either order, filtered or not, continued
 * by cursor, are what the rows of every tag give.
 */
import { expect, it, vi } from 'vitest';
import * as layout from '../../src/storage/layout.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { eventually, forEachDriver, pushImage, putManifest, type TestRegistry } from './harness.js';

const NAME = 'team/app' as RepositoryName;

interface TagPage {
  tags: { tag: string; size: number; pushedAt: string }[];
  total: number;
  next: string | null;
}

/** Pushes one image tagged with every name of `tags` (in that order). */
async function tagAll(registry: TestRegistry, tags: string[]): Promise<void> {
  const image = await pushImage(registry.http, NAME, tags[0], { layers: 1 });
  for (const t of tags.slice(1)) expect((await putManifest(registry.http, NAME, t, image.body)).status).toBe(201);
}

/**
 * Counts the reads of tag links of NAME through `registry`'s driver from now on, and holds those of
 * the tags not in `free` until `release` is called.
 */
function watchTagReads(registry: TestRegistry, free: string[]): { count: () => number; release: () => void } {
  const prefix = `${layout.tags(NAME)}/`;
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const read = registry.driver.getContent.bind(registry.driver);
  const spy = vi.spyOn(registry.driver, 'getContent').mockImplementation(async (path, options) => {
    if (path.startsWith(prefix) && !free.includes(path.slice(prefix.length))) await gate;
    return read(path, options);
  });
  return { count: () => spy.mock.calls.filter(([path]) => path.startsWith(prefix)).length, release };
}

forEachDriver((make) => {
  it('answers a page by name after a restart reading only its rows, then reads every row in the background for the sorts by push time and size', async () => {
    const tags = Array.from({ length: 40 }, (_, i) => `v${String(i).padStart(2, '0')}`);
    let registry = await make();
    await tagAll(registry, tags);
    registry = await registry.restart();
    expect((await registry.http.get(`/admin/v1/repositories/${NAME}`)).status).toBe(200); // the admin index ready (its start reads tags)
    const reads = watchTagReads(registry, tags.slice(0, 5));

    // answered while every other tag's read is held: the page waits for its own rows only
    const first = await Promise.race([registry.http.get(`/admin/v1/repositories/${NAME}/tags?n=5`), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the page waited for rows not on it')), 5000))]);
    expect(first.status, first.text).toBe(200);
    const body = first.body as TagPage;
    expect(body.tags.map((t) => t.tag)).toEqual(tags.slice(0, 5));
    expect(body.total).toBe(40);
    expect(body.tags[0]!.size).toBeGreaterThan(0);

    reads.release();
    await eventually(async () => reads.count() >= 45, 'the background reading of every row'); // the page's 5, then all 40
    await new Promise((r) => setTimeout(r, 50)); // the last rows' manifests read, then kept
    const before = reads.count();
    const newest = await registry.http.get(`/admin/v1/repositories/${NAME}/tags?n=3&sort=pushedAt&order=desc`);
    expect((newest.body as TagPage).tags.map((t) => t.tag)).toEqual(tags.slice(-3).reverse());
    expect((await registry.http.get(`/admin/v1/repositories/${NAME}/tags?n=3&sort=size`)).status).toBe(200);
    expect(reads.count()).toBe(before);
  });

  it('pages by name after a restart, in either order, filtered or not, continued by cursor: each tag once, as the rows of every tag order them', async () => {
    const tags = ['a', 'b-1', 'b-2', 'c', 'd-1', 'e', 'f-1', 'g', 'h-1', 'i'];
    let registry = await make();
    await tagAll(registry, tags);
    for (const [order, q] of [['asc', undefined], ['desc', undefined], ['asc', '-1'], ['desc', '-1']] as const) {
      const matching = tags.filter((t) => q === undefined || t.includes(q));
      const expected = order === 'asc' ? matching : [...matching].reverse();
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        registry = await registry.restart(); // every page from the listing, no row kept
        const params = new URLSearchParams(cursor ? { n: '3', cursor } : { n: '3', order, ...(q ? { q } : {}) });
        const res = await registry.http.get(`/admin/v1/repositories/${NAME}/tags?${params}`);
        expect(res.status, res.text).toBe(200);
        const page = res.body as TagPage;
        expect(page.total).toBe(matching.length);
        seen.push(...page.tags.map((t) => t.tag));
        cursor = page.next;
      } while (cursor !== null);
      expect(seen, `${order} ${q ?? ''}`).toEqual(expected);
      const kept = await registry.http.get(`/admin/v1/repositories/${NAME}/tags?sort=name&order=${order}${q ? `&q=${q}` : ''}&sort=name`);
      expect((kept.body as TagPage).tags.map((t) => t.tag)).toEqual(expected);
    }
  });
});
