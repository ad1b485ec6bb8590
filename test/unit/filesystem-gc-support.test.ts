/**
 * What garbage collection asks of the filesystem driver to read and tidy less (src/storage/file-trees.ts,
 * filesystem.ts). Temporary files: an uncached listing hides them and hands their paths over; a purge
 * given the folders already listed does not read them again and takes the temporary files those
 * listings found (old ones removed, fresh ones kept), and still walks everything else. Deletes with
 * `emptied`: the folders they leave are removed at the end, once each.
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile, access } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FOLDERS_IN_FLIGHT, forEachFolder, sweepTemporaries } from '../../src/storage/file-trees.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { scannedFolder } from '../../src/gc/scan.js';
import type { RepositoryName } from '../../src/oci/reference.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** A root with a shard folder and a repository folder, each holding an object and an old temporary file, and a fresh one in the shard. */
async function tree(): Promise<{ root: string; old: Date }> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-temps-'));
  roots.push(root);
  const old = new Date(Date.now() - 3_600_000);
  for (const dir of ['blobs/sha256/ab', 'repositories/r/_layers/sha256']) {
    await mkdir(join(root, dir), { recursive: true });
    await writeFile(join(root, dir, 'object'), 'x');
    await writeFile(join(root, dir, '.wharf-tmp-old'), '1234');
    await utimes(join(root, dir, '.wharf-tmp-old'), old, old);
  }
  await writeFile(join(root, 'blobs/sha256/ab/.wharf-tmp-fresh'), '12');
  return { root, old };
}

describe('temporary files', () => {
  it('an uncached listing hides them and hands their paths over', async () => {
    const { root } = await tree();
    const driver = new FilesystemDriver(root, { blockingReads: true });
    const temporaries: string[] = [];
    expect(await driver.list('/blobs/sha256/ab', { cache: false, temporaries })).toEqual(['object']);
    expect(temporaries.sort()).toEqual(['/blobs/sha256/ab/.wharf-tmp-fresh', '/blobs/sha256/ab/.wharf-tmp-old']);
  });

  it('a purge does not read the folders listed already, takes what their listings found, and walks the rest', async () => {
    const { root } = await tree();
    const read: string[] = [];
    const readdirRecorded = (dir: string): Promise<Dirent[]> => {
      read.push(dir);
      return readdir(dir, { withFileTypes: true });
    };
    const shard = join(root, 'blobs/sha256/ab');
    const found = await sweepTemporaries(root, {
      prefix: '.wharf-tmp-',
      olderThan: new Date(Date.now() - 60_000),
      dryRun: false,
      readdir: readdirRecorded,
      removed: async () => undefined,
      listed: { folders: new Set([shard]), temporaries: [join(shard, '.wharf-tmp-old'), join(shard, '.wharf-tmp-fresh')] },
    });
    expect(found).toEqual({ count: 2, bytes: 8 });
    expect(read).not.toContain(shard);
    expect(read).toContain(join(root, 'repositories/r/_layers/sha256'));
    await expect(access(join(shard, '.wharf-tmp-old'))).rejects.toThrow();
    await expect(access(join(shard, '.wharf-tmp-fresh'))).resolves.toBeUndefined();
    await expect(access(join(root, 'repositories/r/_layers/sha256/.wharf-tmp-old'))).rejects.toThrow();
  });

  it('reads several folders at once, at most FOLDERS_IN_FLIGHT, and finds every temporary file; a dry run removes none', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-temps-'));
    roots.push(root);
    const old = new Date(Date.now() - 3_600_000);
    for (let i = 0; i < 30; i++) {
      const dir = join(root, `repositories/r${i}/_layers/sha256`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, '.wharf-tmp-old'), '1');
      await utimes(join(dir, '.wharf-tmp-old'), old, old);
    }
    let inFlight = 0;
    let maxInFlight = 0;
    const slowReaddir = async (dir: string): Promise<Dirent[]> => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return readdir(dir, { withFileTypes: true });
    };
    const sweep = { prefix: '.wharf-tmp-', olderThan: new Date(Date.now() - 60_000), readdir: slowReaddir, removed: async () => undefined };
    expect(await sweepTemporaries(root, { ...sweep, dryRun: true })).toEqual({ count: 30, bytes: 30 });
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(FOLDERS_IN_FLIGHT);
    await expect(access(join(root, 'repositories/r7/_layers/sha256/.wharf-tmp-old'))).resolves.toBeUndefined();
    expect(await sweepTemporaries(root, { ...sweep, dryRun: false })).toEqual({ count: 30, bytes: 30 });
    await expect(access(join(root, 'repositories/r7/_layers/sha256/.wharf-tmp-old'))).rejects.toThrow();
  });

  it('a walk of folders stops at the first failure, starting nothing after it', async () => {
    const visited: string[] = [];
    const walk = forEachFolder('/', 4, async (dir) => {
      visited.push(dir);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (dir === '/b') throw new Error('unreadable');
      return dir === '/' ? ['/a', '/b', '/c'] : dir.length < 6 ? [`${dir}/x`] : [];
    });
    await expect(walk).rejects.toThrow('unreadable');
    const settled = visited.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(visited.length).toBe(settled);
    expect(visited).not.toContain('/b/x');
  });

  it('the driver maps listed storage paths onto its root', async () => {
    const { root } = await tree();
    const driver = new FilesystemDriver(root);
    const listed = { folders: ['/blobs/sha256/ab'], temporaries: ['/blobs/sha256/ab/.wharf-tmp-old'] };
    expect(await driver.purgeTemporaries(new Date(Date.now() - 60_000), { dryRun: true, listed })).toEqual({ count: 2, bytes: 8 });
    // without the listing: the same two, read from the folders
    expect(await driver.purgeTemporaries(new Date(Date.now() - 60_000), { dryRun: true })).toEqual({ count: 2, bytes: 8 });
  });
});

describe('deletes that leave their folders to the end', () => {
  it('record the folder instead of removing it, and removeEmptyFolders removes it with its empty parents, once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-emptied-'));
    roots.push(root);
    const driver = new FilesystemDriver(root, { blockingReads: true });
    await driver.putContent('/repositories/a/_layers/sha256/one', 'x');
    await driver.putContent('/repositories/a/_manifests/tags/v1', 'x');
    await driver.putContent('/blobs/sha256/ab/two', 'x');
    await driver.putContent('/blobs/sha256/ab/three', 'x');
    const emptied = new Set<string>();
    await driver.delete('/repositories/a/_layers/sha256/one', { emptied });
    await driver.delete('/blobs/sha256/ab/two', { emptied });
    expect([...emptied].sort()).toEqual(['/blobs/sha256/ab', '/repositories/a/_layers/sha256']);
    expect(await readdir(join(root, 'repositories/a/_layers/sha256'))).toEqual([]); // still there, empty
    expect((await driver.removeEmptyFolders(emptied)).sort()).toEqual(['/repositories/a/_layers', '/repositories/a/_layers/sha256']);
    expect(await readdir(join(root, 'repositories/a'))).toEqual(['_manifests']); // _layers/sha256 and _layers gone
    expect(await readdir(join(root, 'blobs/sha256/ab'))).toEqual(['three']); // not empty: kept
    await driver.delete('/blobs/sha256/ab/three'); // without `emptied`: removed at once, with its empty parents
    await expect(access(join(root, 'blobs'))).rejects.toThrow();
  });
});

describe('the folders a scan lists whole', () => {
  it('are the tags, revisions and links of the repositories scanned, nothing above or below them', () => {
    const scanned = scannedFolder(['team/app', 'solo'] as RepositoryName[]);
    for (const f of ['/repositories/team/app/_manifests/tags', '/repositories/team/app/_manifests/revisions/sha256', '/repositories/solo/_layers/sha512']) {
      expect(scanned(f), f).toBe(true);
    }
    for (const f of [
      '/repositories/team/app/_manifests/pulls',
      '/repositories/team/app/_manifests/revisions',
      '/repositories/team/app/_layers',
      '/repositories/team/app/_referrers/sha256',
      '/repositories/other/_manifests/tags', // not scanned: created after the listing of repositories
      '/repositories/team/app',
      '/blobs/sha256/ab',
    ]) {
      expect(scanned(f), f).toBe(false);
    }
  });
});
