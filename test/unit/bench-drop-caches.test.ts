/**
 * The scale bench's `--scale-cold` (bench/scale/measure.ts): it writes `3` to the kernel's
 * drop_caches control after a sync, and fails naming the option when it may not. The test writes to
 * files of its own: dropping the machine's page cache here would disturb other measurements.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dropCaches } from '../../bench/scale/measure.js';

describe('dropCaches', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes 3 to the control file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drop-caches-'));
    dirs.push(dir);
    await dropCaches(join(dir, 'drop_caches'));
    expect(await readFile(join(dir, 'drop_caches'), 'utf8')).toBe('3\n');
  });

  it('fails naming --scale-cold and the file when the control cannot be written', async () => {
    await expect(dropCaches('/nonexistent-dir/drop_caches')).rejects.toThrow(/--scale-cold: cannot drop the page cache \(ENOENT writing \/nonexistent-dir\/drop_caches\)/);
  });
});
