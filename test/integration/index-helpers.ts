/**
 * Helpers of the admin index tests: what the admin API must answer, computed from the storage
 * directly and naively (every repository, tag, manifest and blob read now), to compare the index with.
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { manifestReferences } from '../../src/oci/manifest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { walkRepositories } from '../../src/registry/catalog.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import * as layout from '../../src/storage/layout.js';
import type { Client } from './harness.js';

/** A repository's summary as the admin API reports it. */
export interface Summary {
  name: string;
  tags: number;
  manifests: number;
  bytes: { unique: number; shared: number; total: number };
  lastPush: string | null;
}

async function digestsIn(driver: StorageDriver, folder: (alg: 'sha256' | 'sha512') => string): Promise<string[]> {
  const found: string[] = [];
  for (const alg of ['sha256', 'sha512'] as const) for (const hex of await driver.list(folder(alg))) found.push(`${alg}:${hex}`);
  return found;
}

async function sizeOf(driver: StorageDriver, digest: string): Promise<number> {
  return driver.stat(layout.blobData(digest as never)).then(
    (s) => s.size,
    () => 0,
  );
}

/** What the index answers: every repository's summary, the blob totals and the repository, tag and manifest totals. */
export interface IndexAnswer {
  repositories: Summary[];
  blobs: { count: number; bytes: number };
  totals: { repositories: number; tags: number; manifests: number };
}

/** Every repository's summary and the storage's totals, read from `driver` now. */
export async function expectedIndex(driver: StorageDriver): Promise<IndexAnswer> {
  const names = await walkRepositories(driver);
  const referenced = new Map<string, Set<string>>();
  const repositories: Omit<Summary, 'bytes'>[] = [];
  for (const name of names as RepositoryName[]) {
    const tags = await driver.list(layout.tags(name));
    let lastPush: string | null = null;
    for (const t of tags) {
      const link = JSON.parse((await driver.getContent(layout.tag(name, t as never))).toString('utf8')) as { pushedAt: string };
      if (lastPush === null || link.pushedAt > lastPush) lastPush = link.pushedAt;
    }
    const revisions = await digestsIn(driver, (a) => layout.manifestRevisionsOf(name, a));
    const refs = new Set(revisions);
    for (const d of revisions) {
      const body = await driver.getContent(layout.blobData(d as never)).catch(() => undefined);
      for (const b of (body && manifestReferences(body)?.blobs) ?? []) refs.add(b);
    }
    referenced.set(name, refs);
    repositories.push({ name, tags: tags.length, manifests: revisions.length, lastPush });
  }
  const holders = new Map<string, number>();
  for (const refs of referenced.values()) for (const d of refs) holders.set(d, (holders.get(d) ?? 0) + 1);
  const withBytes: Summary[] = [];
  for (const r of repositories) {
    const bytes = { unique: 0, shared: 0, total: 0 };
    for (const d of referenced.get(r.name)!) {
      const size = await sizeOf(driver, d);
      if (holders.get(d)! > 1) bytes.shared += size;
      else bytes.unique += size;
    }
    bytes.total = bytes.unique + bytes.shared;
    withBytes.push({ ...r, bytes });
  }
  const blobs = { count: 0, bytes: 0 };
  for (const alg of ['sha256', 'sha512'] as const) {
    for (const shard of await driver.list(layout.blobShards(alg))) {
      for (const hex of await driver.list(layout.blobShard(alg, shard))) {
        blobs.count += 1;
        blobs.bytes += await sizeOf(driver, `${alg}:${hex}`);
      }
    }
  }
  const totals = { repositories: repositories.length, tags: 0, manifests: 0 };
  for (const r of repositories) {
    totals.tags += r.tags;
    totals.manifests += r.manifests;
  }
  return { repositories: withBytes, blobs, totals };
}

/** What the admin API of `http` answers: every repository (one page) and the storage totals. */
export async function answeredIndex(http: Client): Promise<IndexAnswer> {
  const list = await http.get('/admin/v1/repositories');
  expect(list.status, list.text).toBe(200);
  const storage = await http.get('/admin/v1/storage');
  expect(storage.status, storage.text).toBe(200);
  const { blobs, repositories, tags, manifests } = storage.body as IndexAnswer['totals'] & { blobs: IndexAnswer['blobs'] };
  return { repositories: (list.body as { repositories: Summary[] }).repositories, blobs, totals: { repositories, tags, manifests } };
}

/** Asserts that the admin API of `http` answers exactly what the storage holds. */
export async function expectExact(http: Client, driver: StorageDriver, step: string): Promise<void> {
  expect(await answeredIndex(http), step).toEqual(await expectedIndex(driver));
}

/**
 * Polls until the admin API of `http` answers what the storage holds, or `withinMs` passes.
 * @returns ms it took
 */
export async function expectAgreeWithin(http: Client, driver: StorageDriver, withinMs: number, step: string): Promise<number> {
  const start = Date.now();
  const expected = await expectedIndex(driver);
  for (;;) {
    const answered = await answeredIndex(http);
    if (isDeepStrictEqual(answered, expected)) return Date.now() - start;
    if (Date.now() - start > withinMs) {
      expect(answered, `${step}: not within ${withinMs} ms`).toEqual(expected);
      return Date.now() - start;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
