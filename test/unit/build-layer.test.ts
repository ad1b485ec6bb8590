/**
 * Reproducible layer tars (src/build/layer.ts): sorted entries, numeric owners without names, the
 * build time as every mtime, and a golden digest for a fixed set of entries: the same bytes on
 * every machine, in every folder, on every Node.js version.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { blobFile, writeLayer } from '../../src/build/layer.js';
import type { LayerEntry } from '../../src/build/tree.js';
import { layerEntries } from '../support/build-fixtures.js';

const dirs: string[] = [];
afterEach(async () => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

async function entries(dir: string): Promise<LayerEntry[]> {
  const file = join(dir, 'main.py');
  await writeFile(file, 'print("hello")\n');
  const st = await stat(file, { bigint: true });
  const content = { path: file, size: Number(st.size), dev: Number(st.dev), ino: Number(st.ino), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
  return [
    { path: 'app/main.py', type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.size, content },
    { path: 'app/run', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, linkname: 'main.py' },
    { path: 'app', type: 'dir', mode: 0o755, uid: 1000, gid: 1000, size: 0 },
    { path: 'app/a-very-long-folder-name-that-needs-more-than-one-hundred-bytes/of-path-in-the-tar-header/to-be-stored/x', type: 'dir', mode: 0o2775, uid: 0, gid: 0, size: 0 },
  ];
}

it('writes sorted entries with the build time, numeric owners and no names, and a golden digest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-layer-'));
  dirs.push(dir);
  const blob = await writeLayer(await entries(dir), { mtime: 1_700_000_000, blobDir: join(dir, 'blobs') });
  const bytes = await readFile(blobFile(join(dir, 'blobs'), blob.digest));
  expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(blob.digest);
  const read = await layerEntries(bytes);
  expect(read.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.mtime} ${e.uname}`)).toEqual([
    'app/ directory 755 1000:1000 1700000000 ',
    'app/a-very-long-folder-name-that-needs-more-than-one-hundred-bytes/of-path-in-the-tar-header/to-be-stored/x/ directory 2775 0:0 1700000000 ',
    'app/main.py file 644 0:0 1700000000 ',
    'app/run symlink 777 0:0 1700000000 ',
  ]);
  expect({ digest: blob.digest, diffId: blob.diffId, size: blob.size }).toEqual({
    digest: 'sha256:24e58d3f3e41f8b58f0718171535353aadd1e2dce02ed2b7db319c6caea39671',
    diffId: 'sha256:6fddbbb9c6608b2bd47e4177ed17143996fe05b4dd0d2b7c7a0c31d20b7076fd',
    size: 279,
  });
});
