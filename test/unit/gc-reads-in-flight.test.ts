/**
 * The garbage collector keeps several reads in flight where it used to wait on one at a time
 * (src/gc/scan.ts, sweep.ts): a repository's tags, revisions and links are listed side by side, the
 * blob shards ahead of the one visited are listed meanwhile (visited in order all the same), and the
 * dangling links and a repository's links to swept blobs are deleted several at a time. What they
 * read and decide stays the same: a damaged tag still stops the scan, a link whose blob was stored
 * since is kept, a dry run deletes nothing, a stopped run stops.
 */
import { describe, expect, it } from 'vitest';
import { MarkSet } from '../../src/gc/mark.js';
import { emptyReport } from '../../src/gc/report.js';
import { forEachBlobShard, scanRepository, SHARDS_AHEAD } from '../../src/gc/scan.js';
import { Sweep } from '../../src/gc/sweep.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { limiter } from '../../src/registry/limit.js';
import { DriverDecorator } from '../../src/storage/driver-decorator.js';
import type { FileInfo, ReadOptions } from '../../src/storage/driver.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';

/** Digest `n` (sha256): distinct in its first 128 bits, the part a mark set keys on. */
const d = (n: number): Digest => `sha256:${n.toString(16).padStart(8, '0')}${'0'.repeat(56)}` as Digest;

/** A memory driver whose listings and stats take a few ms each, counting how many are in flight at once. */
class SlowDriver extends DriverDecorator {
  listsInFlight = 0;
  maxListsInFlight = 0;
  statsInFlight = 0;
  maxStatsInFlight = 0;
  readonly listed: string[] = [];

  constructor(readonly failing = new Set<string>()) {
    super(new MemoryDriver());
  }

  override async list(path: string, options?: ReadOptions): Promise<string[]> {
    this.listed.push(path);
    this.maxListsInFlight = Math.max(this.maxListsInFlight, ++this.listsInFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.failing.has(path)) throw new Error(`listing ${path} failed`);
      return await super.list(path, options);
    } finally {
      this.listsInFlight -= 1;
    }
  }

  deletesInFlight = 0;
  maxDeletesInFlight = 0;

  override async delete(path: string): Promise<void> {
    this.maxDeletesInFlight = Math.max(this.maxDeletesInFlight, ++this.deletesInFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await super.delete(path);
    } finally {
      this.deletesInFlight -= 1;
    }
  }

  override async stat(path: string, options?: ReadOptions): Promise<FileInfo> {
    this.maxStatsInFlight = Math.max(this.maxStatsInFlight, ++this.statsInFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return await super.stat(path, options);
    } finally {
      this.statsInFlight -= 1;
    }
  }
}

const NAME = 'team/app' as RepositoryName;

/** Repository `team/app` with manifest d(1) tagged `v1` (blobs d(2), d(3)) and linked blobs d(2), d(3). */
async function repository(driver: SlowDriver): Promise<void> {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d(2), size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d(3), size: 3 }],
  });
  await driver.putContent(layout.blobData(d(1)), manifest);
  await driver.putContent(layout.manifestRevision(NAME, d(1)), '{}');
  await driver.putContent(layout.tag(NAME, 'v1' as Tag), JSON.stringify({ digest: d(1), pushedAt: new Date().toISOString() }));
  for (const b of [d(2), d(3)]) await driver.putContent(layout.layerLink(NAME, b), b);
}

describe('a repository scan', () => {
  it('lists the tags, revisions and links side by side, and reads the same as before', async () => {
    const driver = new SlowDriver();
    await repository(driver);
    const scan = await scanRepository(driver, limiter(32), NAME);
    // tags, both algorithms' revisions, both algorithms' links: five listings at once, where one at a time waited before
    expect(driver.maxListsInFlight).toBe(5);
    expect([...scan.tags]).toEqual([['v1', expect.objectContaining({ digest: d(1) })]]);
    expect([...scan.revisions]).toEqual([d(1)]);
    expect(scan.links.sort()).toEqual([d(2), d(3)]);
    expect(scan.manifests.get(d(1))?.blobs).toEqual([d(2), d(3)]);
  });

  it('still stops at a tag that holds no tag link', async () => {
    const driver = new SlowDriver();
    await repository(driver);
    await driver.putContent(layout.tag(NAME, 'broken' as Tag), 'not a link');
    await expect(scanRepository(driver, limiter(32), NAME)).rejects.toThrow(/tag team\/app:broken does not hold a tag link/);
  });
});

describe('the blob shards', () => {
  /** A store of 12 sha256 shards, one blob each. */
  async function store(driver: SlowDriver): Promise<string[]> {
    const shards = Array.from({ length: 12 }, (_, i) => (i * 16).toString(16).padStart(2, '0'));
    for (const s of shards) await driver.putContent(layout.blobData(`sha256:${s}${'0'.repeat(62)}` as Digest), 'x');
    return shards;
  }

  it('are listed ahead of the one visited, at most SHARDS_AHEAD more, and visited in order', async () => {
    const driver = new SlowDriver();
    const shards = await store(driver);
    const visited: string[] = [];
    const listedWhenFirstVisited: number[] = [];
    const listed = { folders: [] as string[], temporaries: [] as string[] };
    await forEachBlobShard(
      driver,
      limiter(32),
      async (digests) => {
        if (visited.length === 0) listedWhenFirstVisited.push(driver.listed.filter((p) => /\/blobs\/sha256\/[0-9a-f]{2}$/.test(p)).length);
        visited.push(...digests.map((x) => x.slice(7, 9)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
      listed,
    );
    expect(visited).toEqual(shards);
    expect(listedWhenFirstVisited).toEqual([1 + SHARDS_AHEAD]);
    expect(driver.maxListsInFlight).toBeGreaterThan(1);
    expect(driver.maxListsInFlight).toBeLessThanOrEqual(1 + SHARDS_AHEAD);
    expect(listed.folders).toEqual(shards.map((s) => layout.blobShard('sha256', s)));
  });

  it('a listing ahead that fails fails the walk once its turn comes, and is not left unhandled', async () => {
    const driver = new SlowDriver(new Set([layout.blobShard('sha256', '30')]));
    await store(driver);
    const visited: string[] = [];
    // the first visit outlasts the failing listing ahead: it fails while nobody awaits it yet
    const slowVisit = async (digests: Digest[]): Promise<void> => {
      visited.push(...digests);
      await new Promise((resolve) => setTimeout(resolve, 30));
    };
    await expect(forEachBlobShard(driver, limiter(32), slowVisit)).rejects.toThrow(/listing \/blobs\/sha256\/30 failed/);
    expect(visited.length).toBe(3); // shards 00, 10, 20
  });
});

describe('the dangling links', () => {
  /** Links of `team/app` to d(10)..d(29), no blob stored but d(10)'s. */
  async function links(driver: SlowDriver): Promise<{ repository: RepositoryName; digest: Digest }[]> {
    const found = Array.from({ length: 20 }, (_, i) => ({ repository: NAME, digest: d(10 + i) }));
    for (const l of found) await driver.putContent(layout.layerLink(NAME, l.digest), l.digest);
    await driver.putContent(layout.blobData(d(10)), 'stored since the listing');
    return found;
  }

  const sweep = (driver: SlowDriver, dryRun: boolean, throwIfStopped = (): void => undefined): Sweep =>
    new Sweep(driver, limiter(32), new MarkSet(), emptyReport('run', { dryRun, deleteUntagged: false, graceMs: 0 }, Date.now()), {
      dryRun,
      lease: undefined,
      throwIfStopped,
    });

  it('are checked several at a time; a link whose blob was stored since stays', async () => {
    const driver = new SlowDriver();
    const dangling = await links(driver);
    const s = sweep(driver, false);
    await s.danglingLinks(dangling);
    expect(driver.maxStatsInFlight).toBeGreaterThan(1);
    expect(await driver.list(layout.layerLinksOf(NAME, 'sha256'))).toEqual([d(10).slice(7)]);
  });

  it('a dry run deletes none of them, and a stopped run stops', async () => {
    const driver = new SlowDriver();
    const dangling = await links(driver);
    await sweep(driver, true).danglingLinks(dangling);
    expect(await driver.list(layout.layerLinksOf(NAME, 'sha256'))).toHaveLength(20);
    const stopped = sweep(driver, false, () => {
      throw new Error('stopped');
    });
    await expect(stopped.danglingLinks(dangling)).rejects.toThrow('stopped');
    expect(await driver.list(layout.layerLinksOf(NAME, 'sha256'))).toHaveLength(20);
  });
});

describe('the links to swept blobs', () => {
  it('of one repository are deleted several at a time, and only those', async () => {
    const driver = new SlowDriver();
    const swept = Array.from({ length: 20 }, (_, i) => d(100 + i));
    for (const b of [...swept, d(200)]) {
      await driver.putContent(layout.blobData(b), 'x');
      await driver.putContent(layout.layerLink(NAME, b), b);
    }
    const marks = new MarkSet();
    marks.mark(d(200));
    const report = emptyReport('run', { dryRun: false, deleteUntagged: false, graceMs: 0 }, Date.now());
    const sweep = new Sweep(driver, limiter(32), marks, report, { dryRun: false, lease: undefined, throwIfStopped: () => undefined });
    await sweep.blobs(swept, swept.map(() => 1));
    expect(report.blobsDeleted).toBe(20);
    expect(driver.maxDeletesInFlight).toBeGreaterThan(1); // the blobs too
    driver.maxDeletesInFlight = 0;
    await sweep.links([NAME], 8, []);
    expect(driver.maxDeletesInFlight).toBeGreaterThan(1);
    expect(await driver.list(layout.layerLinksOf(NAME, 'sha256'))).toEqual([d(200).slice(7)]);
    expect(report.linksDeleted).toBe(20);
    expect(report.repositories[NAME]?.bytesFreed).toBe(20);
  });
});
