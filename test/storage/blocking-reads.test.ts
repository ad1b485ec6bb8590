/**
 * The synchronous reads of `wharf gc`'s filesystem driver (src/storage/blocking-reads.ts): one pread
 * into a reused buffer for a small file, the whole file past the buffer, the system's errors for a
 * missing path, a folder or a FIFO (at once, not after blocking in open(2) until a writer came), and turns of the event loop during a long walk.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockingReads, FIRST_READ_BYTES, READS_PER_TURN, readFileBlocking } from '../../src/storage/blocking-reads.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wharf-blocking-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** `size` bytes that differ from one offset to the next (a misplaced chunk shows). */
function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

describe('readFileBlocking', () => {
  it('reads a file of any length whole: empty, short, one byte short of the buffer, exactly the buffer, longer, several buffers', async () => {
    for (const size of [0, 1, 300, FIRST_READ_BYTES - 1, FIRST_READ_BYTES, FIRST_READ_BYTES + 1, 3 * FIRST_READ_BYTES + 17]) {
      const bytes = pattern(size);
      await writeFile(join(root, `f${size}`), bytes);
      const read = readFileBlocking(join(root, `f${size}`));
      expect(read.length, `${size} bytes`).toBe(size);
      expect(read.equals(bytes), `${size} bytes`).toBe(true);
    }
  });

  it('returns a copy: a later read does not change what an earlier one returned', async () => {
    await writeFile(join(root, 'a'), 'first link');
    await writeFile(join(root, 'b'), 'second');
    const a = readFileBlocking(join(root, 'a'));
    readFileBlocking(join(root, 'b'));
    expect(a.toString()).toBe('first link');
  });

  it('throws ENOENT for a missing file or folder, and EISDIR for a folder', async () => {
    await mkdir(join(root, 'folder'));
    expect(() => readFileBlocking(join(root, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
    expect(() => readFileBlocking(join(root, 'missing/below'))).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
    expect(() => readFileBlocking(join(root, 'folder'))).toThrow(expect.objectContaining({ code: 'EISDIR' }) as Error);
  });

  it('throws ESPIPE for a FIFO at once (naming it), instead of blocking the process in open(2) until a writer opens it', async () => {
    const fifo = join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // a writer 2 s from now, so that a read blocked in open(2) ends (late) instead of hanging the test run
    const writer = spawn('sh', ['-c', `sleep 2; : > '${fifo}'`], { stdio: 'ignore' });
    const started = performance.now();
    try {
      expect(() => readFileBlocking(fifo)).toThrow(expect.objectContaining({ code: 'ESPIPE', message: `ESPIPE: invalid seek, read '${fifo}'` }) as Error);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      writer.kill();
    }
  });
});

describe('BlockingReads', () => {
  it('lists a folder (names, and entries with their types) and rejects a missing one or a file', async () => {
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'file'), 'x');
    const reads = new BlockingReads();
    expect((await reads.readdir(root)).sort()).toEqual(['file', 'sub']);
    const entries = (await reads.readdirEntries(root)).map((e) => [e.name, e.isDirectory()]).sort();
    expect(entries).toEqual([
      ['file', false],
      ['sub', true],
    ]);
    await expect(reads.readdir(join(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(reads.readdir(join(root, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(reads.readFile(join(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives the event loop a turn every READS_PER_TURN reads: a timer fires during a walk that only reads', async () => {
    await writeFile(join(root, 'link'), 'sha256:abc');
    const reads = new BlockingReads();
    let fired = 0;
    const timer = setInterval(() => (fired += 1), 0);
    try {
      const seen: number[] = [];
      for (let i = 0; i < 10 * READS_PER_TURN; i++) {
        expect((await reads.readFile(join(root, 'link'))).toString()).toBe('sha256:abc');
        seen.push(fired);
      }
      expect(fired).toBeGreaterThan(0);
      expect(seen[READS_PER_TURN - 2]).toBe(seen[0]); // no turn before the READS_PER_TURN-th read
    } finally {
      clearInterval(timer);
    }
  });
});
