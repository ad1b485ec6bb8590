/**
 * The catalog: its walk keeps a bounded number of folder listings in flight (an S3 bucket with a
 * thousand repositories must not get a thousand ListObjectsV2 at once) and finds every repository;
 * its cache shares one walk between concurrent requests, follows this process's writes and deletes
 * at once, refreshes after its max age in the background, and survives failed walks.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/gc/collector.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { Catalog, CATALOG_MAX_AGE_MS, WALK_SHARE, walkRepositories } from '../../src/registry/catalog.js';
import { Registry } from '../../src/registry/registry.js';
import { removeRepository } from '../../src/registry/repository-removal.js';
import { repositoryChanges, WatchedDriver, type RepositoryChanges } from '../../src/registry/watched-driver.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { capturingLogger, eventually, sha256 } from '../integration/harness.js';

const DIGEST = sha256(Buffer.from('x')) as Digest;

/**
 * A memory driver that counts listings and can hold them: a listing reads the storage when it is
 * called, and answers when the gate opens (so a test can write or delete while a walk is in flight);
 * with `failing` set, listings reject.
 */
class TestDriver extends MemoryDriver {
  lists = 0;
  inFlight = 0;
  mostInFlight = 0;
  failing = false;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #held: (path: string) => boolean = () => true;

  /** Holds the listings of the paths `held` selects (every path by default) from now until {@link open}. */
  hold(held: (path: string) => boolean = () => true): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
    this.#held = held;
  }

  open(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  override async list(path: string): Promise<string[]> {
    this.lists++;
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      if (this.failing) throw new Error('storage unreachable');
      const children = await super.list(path);
      await (this.#gate && this.#held(path) ? this.#gate : new Promise((resolve) => setImmediate(resolve)));
      return children;
    } finally {
      this.inFlight--;
    }
  }
}

/** Writes a blob link of `name` straight into `driver`, as another process would. */
async function writeRepository(driver: MemoryDriver, name: string): Promise<void> {
  await driver.putContent(layout.layerLink(name as RepositoryName, DIGEST), DIGEST);
}

/** A clock the test moves, ms. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('walkRepositories', () => {
  it('lists 200 repositories, nested ones included, with at most 16 listings in flight', async () => {
    const driver = new TestDriver();
    const names: string[] = [];
    for (let i = 0; i < 100; i++) names.push(`team/app${String(i).padStart(3, '0')}`, `solo${String(i).padStart(3, '0')}`);
    for (const name of names) await writeRepository(driver, name);
    expect(await walkRepositories(driver)).toEqual([...names].sort());
    expect(driver.mostInFlight).toBeGreaterThan(1);
    expect(driver.mostInFlight).toBeLessThanOrEqual(16);
  });
});

describe('layout: which writes and deletes change the catalog', () => {
  it('repositoryOfContent names the repository of a blob link, a manifest revision or a tag, and nothing else', () => {
    const name = 'team/app' as RepositoryName;
    expect(layout.repositoryOfContent(layout.layerLink(name, DIGEST))).toBe('team/app');
    expect(layout.repositoryOfContent(layout.manifestRevision(name, DIGEST))).toBe('team/app');
    expect(layout.repositoryOfContent(layout.tag(name, 'v1' as never))).toBe('team/app');
    expect(layout.repositoryOfContent(layout.layerLinks(name))).toBe('team/app');
    for (const other of [layout.referrer(name, DIGEST, DIGEST), layout.repository(name), layout.blobData(DIGEST), layout.gcLease(), '/repositories/_layers/x', '/repositories/Bad/_layers/x']) {
      expect(layout.repositoryOfContent(other), other).toBeUndefined();
    }
  });

  it('mayHoldRepositories: the root, the repositories root and anything under it', () => {
    for (const path of ['/', '/repositories', layout.repository('a' as RepositoryName), layout.referrersRoot('a' as RepositoryName)]) expect(layout.mayHoldRepositories(path), path).toBe(true);
    for (const path of ['/blobs', layout.blobData(DIGEST), '/uploads/x', '/repositoriesx', layout.gcLease()]) expect(layout.mayHoldRepositories(path), path).toBe(false);
  });
});

describe('WatchedDriver reports', () => {
  /** A memory driver whose deletes and writes fail after doing nothing. */
  class FailingDriver extends MemoryDriver {
    override async delete(): Promise<void> {
      throw new Error('disk gone');
    }
    override async putContent(): Promise<void> {
      throw new Error('disk gone');
    }
  }

  function recorder(): RepositoryChanges & { seen: string[] } {
    const seen: string[] = [];
    return { seen, contentWritten: (name) => void seen.push(`written ${name}`), contentRemoved: () => void seen.push('removed') };
  }

  it('successful content writes, and deletes and moves under repositories/ (failed ones too); nothing else', async () => {
    const changes = recorder();
    const driver = new WatchedDriver(new MemoryDriver(), repositoryChanges(changes));
    const name = 'a/b' as RepositoryName;
    await driver.putContent(layout.manifestRevision(name, DIGEST), '{}');
    await driver.putContent(layout.referrer(name, DIGEST, DIGEST), '{}');
    await driver.putContent(layout.blobData(DIGEST), 'x');
    await driver.delete(layout.blobData(DIGEST));
    await driver.move(layout.repository(name), layout.repository('c' as RepositoryName));
    await driver.delete(layout.tags(name));
    expect(changes.seen).toEqual(['written a/b', 'removed', 'removed', 'removed']);

    const failing = recorder();
    const broken = new WatchedDriver(new FailingDriver(), repositoryChanges(failing));
    await expect(broken.putContent(layout.layerLink(name, DIGEST), DIGEST)).rejects.toThrow('disk gone');
    await expect(broken.delete(layout.layerLink(name, DIGEST))).rejects.toThrow('disk gone');
    expect(failing.seen).toEqual(['removed']);
  });
});

describe('Catalog cache', () => {
  it('concurrent requests share one walk, and a request within the max age walks nothing', async () => {
    const driver = new TestDriver();
    for (const name of ['a', 'b/c', 'd']) await writeRepository(driver, name);
    await walkRepositories(driver);
    const oneWalk = driver.lists;
    driver.lists = 0;

    const catalog = new Catalog(driver, { now: clock().now });
    const answers = await Promise.all(Array.from({ length: 10 }, () => catalog.repositories()));
    for (const answer of answers) expect(answer).toEqual(['a', 'b/c', 'd']);
    expect(driver.lists).toBe(oneWalk);
    expect(await catalog.repositories()).toEqual(['a', 'b/c', 'd']);
    expect(driver.lists).toBe(oneWalk);
  });

  it("another process's repository shows after the max age: the first late request answers the cached list and starts one walk", async () => {
    const driver = new TestDriver();
    await writeRepository(driver, 'mine');
    const time = clock();
    const catalog = new Catalog(driver, { now: time.now });
    expect(await catalog.repositories()).toEqual(['mine']);

    await writeRepository(driver, 'theirs');
    time.advance(CATALOG_MAX_AGE_MS - 1);
    expect(await catalog.repositories()).toEqual(['mine']);
    time.advance(1);
    driver.lists = 0;
    driver.hold();
    expect(await catalog.repositories()).toEqual(['mine']);
    expect(await catalog.repositories()).toEqual(['mine']);
    expect(driver.lists).toBe(1); // one walk started, waiting on its first listing
    driver.open();
    await eventually(async () => (await catalog.repositories()).includes('theirs' as RepositoryName), 'the background walk to finish');
    expect(await catalog.repositories()).toEqual(['mine', 'theirs']);
  });

  it('a walk that took long keeps its list for WALK_SHARE times its duration, not the max age', async () => {
    const driver = new TestDriver();
    await writeRepository(driver, 'mine');
    const time = clock();
    const catalog = new Catalog(driver, { now: time.now });
    driver.hold();
    const first = catalog.repositories();
    await eventually(async () => driver.lists > 0, 'the walk to start');
    time.advance(2 * CATALOG_MAX_AGE_MS); // the walk takes 10 s
    driver.open();
    expect(await first).toEqual(['mine']);

    await writeRepository(driver, 'theirs');
    driver.lists = 0;
    time.advance(WALK_SHARE * 2 * CATALOG_MAX_AGE_MS - 2 * CATALOG_MAX_AGE_MS - 1);
    expect(await catalog.repositories()).toEqual(['mine']);
    expect(driver.lists).toBe(0);
    time.advance(1);
    expect(await catalog.repositories()).toEqual(['mine']);
    await eventually(async () => (await catalog.repositories()).includes('theirs' as RepositoryName), 'the background walk to finish');
  });

  it('a clock set back counts as expired', async () => {
    const driver = new TestDriver();
    const time = clock();
    const catalog = new Catalog(driver, { now: time.now });
    expect(await catalog.repositories()).toEqual([]);
    await writeRepository(driver, 'later');
    time.advance(-1);
    await eventually(async () => (await catalog.repositories()).includes('later' as RepositoryName), 'a walk after the clock went back');
  });

  it('a failed background walk is logged and the cached list kept; a later request walks again', async () => {
    const driver = new TestDriver();
    await writeRepository(driver, 'kept');
    const time = clock();
    const { logger, lines } = capturingLogger();
    const catalog = new Catalog(driver, { now: time.now, logger });
    expect(await catalog.repositories()).toEqual(['kept']);

    await writeRepository(driver, 'new');
    driver.failing = true;
    time.advance(CATALOG_MAX_AGE_MS);
    expect(await catalog.repositories()).toEqual(['kept']);
    await eventually(async () => lines.some((l) => l.msg.startsWith('catalog walk failed')), 'the failure to be logged');
    expect(await catalog.repositories()).toEqual(['kept']);

    driver.failing = false;
    await eventually(async () => (await catalog.repositories()).includes('new' as RepositoryName), 'a retried walk');
  });

  it('a failed walk that a request waited for fails that request; the next request walks again', async () => {
    const driver = new TestDriver();
    await writeRepository(driver, 'there');
    const catalog = new Catalog(driver, { logger: pino({ level: 'silent' }) });
    driver.failing = true;
    await expect(catalog.repositories()).rejects.toThrow('storage unreachable');
    driver.failing = false;
    expect(await catalog.repositories()).toEqual(['there']);
  });
});

describe('Registry: the catalog follows this process', () => {
  it('a repository written through the registry is listed at once, without a walk', async () => {
    const driver = new TestDriver();
    await writeRepository(driver, 'old');
    const registry = new Registry(driver);
    expect(await registry.catalog.repositories()).toEqual(['old']);
    driver.lists = 0;
    await registry.blobs.link('new/one' as RepositoryName, DIGEST);
    await registry.blobs.link('aaa' as RepositoryName, DIGEST);
    expect(await registry.catalog.repositories()).toEqual(['aaa', 'new/one', 'old']);
    expect(driver.lists).toBe(0);
  });

  it('a write while a walk is in flight is in that walk\'s answer', async () => {
    const driver = new TestDriver();
    await writeRepository(driver, 'before');
    const registry = new Registry(driver);
    driver.hold();
    const walking = registry.catalog.repositories();
    await eventually(async () => driver.lists > 0, 'the walk to list the root');
    await registry.blobs.link('during' as RepositoryName, DIGEST);
    driver.open();
    expect(await walking).toEqual(['before', 'during']);
    expect(await registry.catalog.repositories()).toEqual(['before', 'during']);
  });

  it('after a delete, the next request walks again: the removed repository is gone', async () => {
    const driver = new TestDriver();
    for (const name of ['gone', 'stays']) await writeRepository(driver, name);
    const registry = new Registry(driver);
    expect(await registry.catalog.repositories()).toEqual(['gone', 'stays']);
    driver.lists = 0;
    await removeRepository(registry.driver, 'gone' as RepositoryName);
    expect(await registry.catalog.repositories()).toEqual(['stays']);
    expect(driver.lists).toBeGreaterThan(0);
  });

  it('a delete during a walk: a request after the delete waits for a new walk instead of taking that one', async () => {
    const driver = new TestDriver();
    for (const name of ['gone', 'stays']) await writeRepository(driver, name);
    const registry = new Registry(driver);
    driver.hold((path) => path === layout.repository('stays' as RepositoryName));
    const before = registry.catalog.repositories();
    // the walk has read the root and `gone` (it found `gone`), and waits on `stays`
    await eventually(async () => driver.lists === 3 && driver.inFlight === 1, 'the walk to reach `stays`');
    await removeRepository(registry.driver, 'gone' as RepositoryName);
    const after = registry.catalog.repositories();
    driver.open();
    expect(await before).toEqual(['gone', 'stays']);
    expect(await after).toEqual(['stays']);
  });

  it('Registries on one driver instance share one catalog; on another instance of the same storage, not', async () => {
    const driver = new TestDriver();
    expect(new Registry(driver).catalog).toBe(new Registry(driver).catalog);
    expect(new Registry(new TestDriver()).catalog).not.toBe(new Registry(driver).catalog);
  });

  it("a garbage collection run's deletes in this process drop the cached list, as the registry's own do", async () => {
    const driver = new TestDriver();
    const registry = new Registry(driver);
    await registry.blobs.link('unused' as RepositoryName, DIGEST); // a link to a blob that is not stored
    await registry.blobs.link('kept' as RepositoryName, DIGEST);
    await driver.putContent(layout.manifestRevision('kept' as RepositoryName, DIGEST), '{}');
    expect(await registry.catalog.repositories()).toEqual(['kept', 'unused']);

    const report = await collectGarbage(driver, {
      dryRun: false,
      deleteUntagged: false,
      graceMs: 0,
      uploadPurgeAgeMs: 3_600_000,
      retention: [],
      lease: { settleMs: 10 },
    });
    expect(report.linksDeleted).toBeGreaterThan(0);
    expect(await registry.catalog.repositories()).toEqual(['kept']);
  });
});
