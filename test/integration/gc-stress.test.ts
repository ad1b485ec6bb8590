/**
 * The GC stress scenario (test/stress/gc-stress.ts) at small size: concurrent pushes (HEAD skips,
 * mounts, uploads, tag deletes) while garbage collection runs in a loop with grace 0; every
 * successful push must pull back whole. Count-based, not timed: each client pushes a fixed number of
 * images, push k starting after the collector's k-th run, so the checks hold on a machine of any
 * speed and load, and fail only when a push or pull breaks or the scenario does not do what it says.
 * `npm run stress:gc` runs it at length.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { runGcStress, type StressResult } from '../stress/gc-stress.js';

const CLIENTS = 3;
const PUSHES = 5;

/** What every count-based run must show, whatever the timing. */
function expectCounts(result: StressResult): void {
  expect(result.pushesSucceeded).toBe(CLIENTS * PUSHES);
  expect(result.tagsDeleted).toBe(CLIENTS * (PUSHES - 1)); // each client keeps its last tag
  // each deleted tag verified before its delete, the kept ones twice at the end
  expect(result.tagsVerified).toBe(CLIENTS * (PUSHES - 1) + 2 * CLIENTS);
  expect(result.gcRuns).toBeGreaterThanOrEqual(PUSHES); // push k waited for run k; one more after the clients stopped
  expect(result.headSkips + result.mounts).toBeGreaterThan(0); // consecutive pushes of a client share a layer
  expect(result.manifestsCollected).toBeGreaterThan(0); // the deleted tags' manifests, untagged, were collected
}

it('filesystem: concurrent pushes survive garbage collection in a loop (grace 0)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-stress-'));
  try {
    expectCounts(await runGcStress({ storage: new FilesystemDriver(root), collectorStorage: new FilesystemDriver(root), clients: CLIENTS, size: { pushes: PUSHES } }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

it('memory: concurrent pushes survive garbage collection in a loop (grace 0)', async () => {
  const storage = new MemoryDriver();
  expectCounts(await runGcStress({ storage, collectorStorage: storage, clients: CLIENTS, size: { pushes: PUSHES } }));
});
