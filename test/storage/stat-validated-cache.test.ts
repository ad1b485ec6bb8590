/**
 * The filesystem driver's read cache (src/storage/stat-validated-cache.ts): a value is served only
 * while stat(2) still describes what it was read from, and never cached while its timestamps are
 * racy. The driver tests use two driver instances on one root, as two processes would.
 */
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isNotFound, PathNotFoundError } from '../../src/storage/driver-errors.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { readOnce } from '../../src/storage/read-once.js';
import { watched } from '../../src/registry/watched-driver.js';
import { RACY_MARGIN_MS, StatValidatedCache } from '../../src/storage/stat-validated-cache.js';

const HOUR_AGO = new Date(Date.now() - 3600_000);
const TWO_HOURS_AGO = new Date(Date.now() - 7200_000);
const later = () => Date.now() + 2 * RACY_MARGIN_MS;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wharf-cache-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('StatValidatedCache', () => {
  it('serves what it kept while the stats are unchanged, and drops it when they change', async () => {
    const file = join(root, 'link');
    await writeFile(file, 'one');
    const cache = new StatValidatedCache(undefined, later);
    const value = Buffer.from('one');
    cache.set(file, await stat(file, { bigint: true }), value);
    expect(cache.get(file, await stat(file, { bigint: true }))).toBe(value);
    await writeFile(file, 'two');
    expect(cache.get(file, await stat(file, { bigint: true }))).toBeUndefined();
  });

  it('keeps nothing whose mtime or ctime is within the racy margin of now', async () => {
    const file = join(root, 'link');
    await writeFile(file, 'fresh');
    const cache = new StatValidatedCache(undefined, Date.now);
    const stats = await stat(file, { bigint: true });
    cache.set(file, stats, Buffer.from('fresh'));
    expect(cache.get(file, stats)).toBeUndefined();
  });

  it('evicts the least recently used values beyond its budget (each path costs 512 bytes besides its value)', async () => {
    const cache = new StatValidatedCache(1000, later); // one 518-byte entry fits, two (1,036) do not
    const a = join(root, 'a');
    const b = join(root, 'b');
    await writeFile(a, 'x');
    await writeFile(b, 'y');
    const sa = await stat(a, { bigint: true });
    const sb = await stat(b, { bigint: true });
    cache.set(a, sa, Buffer.alloc(6));
    cache.set(b, sb, Buffer.alloc(6));
    expect(cache.get(a, sa)).toBeUndefined();
    expect(cache.get(b, sb)).toBeDefined();
  });
});

describe('the filesystem driver with its read cache, and a second process on the same root', () => {
  it("sees the other process's rewrite and delete of a small file it has cached", async () => {
    const reader = new FilesystemDriver(root, { now: later });
    const writer = new FilesystemDriver(root);
    await writer.putContent('/repositories/a/_manifests/tags/v1/current/link', 'sha256:one');
    expect((await reader.getContent('/repositories/a/_manifests/tags/v1/current/link')).toString()).toBe('sha256:one');
    expect((await reader.getContent('/repositories/a/_manifests/tags/v1/current/link')).toString()).toBe('sha256:one');
    await writer.putContent('/repositories/a/_manifests/tags/v1/current/link', 'sha256:two');
    expect((await reader.getContent('/repositories/a/_manifests/tags/v1/current/link')).toString()).toBe('sha256:two');
    await writer.delete('/repositories/a/_manifests/tags/v1');
    const err = await reader.getContent('/repositories/a/_manifests/tags/v1/current/link').catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
  });

  it("sees the other process's new and removed entries of a folder it has listed", async () => {
    const reader = new FilesystemDriver(root, { now: later });
    const writer = new FilesystemDriver(root);
    const tags = join(root, 'repositories/a/_manifests/tags');
    await mkdir(join(tags, 'v1'), { recursive: true });
    await mkdir(join(tags, 'v2'), { recursive: true });
    await utimes(tags, HOUR_AGO, HOUR_AGO);
    expect(await reader.list('/repositories/a/_manifests/tags')).toEqual(['v1', 'v2']);
    const listed = await reader.list('/repositories/a/_manifests/tags');
    listed.push('changed by the caller');
    expect(await reader.list('/repositories/a/_manifests/tags')).toEqual(['v1', 'v2']);
    await writer.putContent('/repositories/a/_manifests/tags/v3/current/link', 'sha256:three');
    expect(await reader.list('/repositories/a/_manifests/tags')).toEqual(['v1', 'v2', 'v3']);
    // the fake clock trusts even this second's timestamps: move the folder's mtime away from it
    await utimes(tags, TWO_HOURS_AGO, TWO_HOURS_AGO);
    expect(await reader.list('/repositories/a/_manifests/tags')).toEqual(['v1', 'v2', 'v3']);
    await writer.delete('/repositories/a/_manifests/tags/v1');
    expect(await reader.list('/repositories/a/_manifests/tags')).toEqual(['v2', 'v3']);
  });

  it('reads a folder or a missing path as not found, as without the cache', async () => {
    const reader = new FilesystemDriver(root, { now: later });
    await mkdir(join(root, 'folder'));
    for (const path of ['/folder', '/missing']) {
      const err = await reader.getContent(path).catch((e: unknown) => e);
      expect(isNotFound(err)).toBe(true);
    }
  });

  it('keeps nothing a walk reads with cache: false (through the decorators of a garbage collection run), and still serves what it had', async () => {
    const driver = new FilesystemDriver(root, { now: later });
    await driver.putContent('/repositories/a/_manifests/tags/t', 'link');
    const walk = readOnce(watched(driver));
    const once = await walk.getContent('/repositories/a/_manifests/tags/t');
    expect(once.toString()).toBe('link');
    const first = await driver.getContent('/repositories/a/_manifests/tags/t');
    expect(first).not.toBe(once); // the walk kept nothing: this read went to the file
    expect(await driver.getContent('/repositories/a/_manifests/tags/t')).toBe(first); // a request's read is kept
    const again = await walk.getContent('/repositories/a/_manifests/tags/t');
    expect(again).not.toBe(first); // a walk reads the file without the stat that would validate a cache entry
    expect(again.equals(first)).toBe(true);
  });

  it.each([false, true])('answers a read with cache: false without the cache (blocking reads: %s): a missing file, a folder and a missing folder are not found, a listing is sorted without temporaries', async (blockingReads) => {
    const driver = new FilesystemDriver(root, { now: later, blockingReads });
    await driver.putContent('/repositories/a/_layers/sha256/bb', 'x');
    await driver.putContent('/repositories/a/_layers/sha256/aa', 'y');
    await writeFile(join(root, 'repositories/a/_layers/sha256/.wharf-tmp-left'), 'partial');
    const once = { cache: false };
    expect(await driver.list('/repositories/a/_layers/sha256', once)).toEqual(['aa', 'bb']);
    expect(await driver.list('/repositories/a/_layers/sha512', once)).toEqual([]);
    expect(await driver.list('/repositories/a/_layers/sha256/aa', once)).toEqual([]); // a file is no folder
    expect((await driver.getContent('/repositories/a/_layers/sha256/aa', once)).toString()).toBe('y');
    await expect(driver.getContent('/repositories/a/_layers/sha256', once)).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.getContent('/repositories/a/_layers/sha256/cc', once)).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.getContent('/repositories/b/_layers/sha256/aa', once)).rejects.toBeInstanceOf(PathNotFoundError);
    // a walk's stat (asynchronous unless blocking) answers as the synchronous one
    expect(await driver.stat('/repositories/a/_layers/sha256/aa', once)).toEqual(await driver.stat('/repositories/a/_layers/sha256/aa'));
    expect(await readOnce(driver).stat('/repositories/a/_layers/sha256')).toMatchObject({ isDir: true, size: 0 });
    await expect(driver.stat('/repositories/a/_layers/sha256/cc', once)).rejects.toBeInstanceOf(PathNotFoundError);
  });
});
