/**
 * `npm run stress:gc`: the GC stress scenario at length on filesystem storage, the collector on a
 * second driver instance over the same directory (as `wharf gc` beside `wharf serve`). Prints the
 * figures it survived. STRESS_SECONDS (default 60) and STRESS_CLIENTS (default 6) size it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { runGcStress } from './gc-stress.js';

const seconds = Number(process.env.STRESS_SECONDS ?? 60);
const clients = Number(process.env.STRESS_CLIENTS ?? 6);

it(`${clients} clients push for ${seconds}s while garbage collection runs in a loop (grace 0); every successful push pulls whole`, async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-stress-'));
  try {
    const result = await runGcStress({ storage: new FilesystemDriver(root), collectorStorage: new FilesystemDriver(root), clients, size: { durationMs: seconds * 1000 } });
    process.stdout.write(`\nGC stress (${clients} clients, ${seconds}s, filesystem): ${JSON.stringify(result, null, 2)}\n`);
    expect(result.gcRuns).toBeGreaterThan(1);
    expect(result.pushesSucceeded).toBeGreaterThan(0);
    expect(result.tagsVerified).toBeGreaterThan(0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
