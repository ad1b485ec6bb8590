/**
 * The GC stress scenario (test/stress/gc-stress.ts) at small size: a few seconds of concurrent
 * pushes (HEAD skips, mounts, uploads, tag deletes) while garbage collection runs in a loop with
 * grace 0; every successful push must pull back whole. `npm run stress:gc` runs it at length.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { runGcStress } from '../stress/gc-stress.js';

it('filesystem: concurrent pushes survive garbage collection in a loop (grace 0)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-stress-'));
  try {
    const result = await runGcStress({ storage: new FilesystemDriver(root), collectorStorage: new FilesystemDriver(root), clients: 3, durationMs: 2500 });
    expect(result.gcRuns).toBeGreaterThan(1);
    expect(result.pushesSucceeded).toBeGreaterThan(3);
    expect(result.headSkips + result.mounts).toBeGreaterThan(0);
    expect(result.tagsVerified).toBeGreaterThan(0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

it('memory: concurrent pushes survive garbage collection in a loop (grace 0)', async () => {
  const storage = new MemoryDriver();
  const result = await runGcStress({ storage, collectorStorage: storage, clients: 3, durationMs: 1500 });
  expect(result.gcRuns).toBeGreaterThan(1);
  expect(result.tagsVerified).toBeGreaterThan(0);
});
