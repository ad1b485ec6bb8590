/**
 * The server's walk reads (src/storage/worker-reads.ts): files and folders read on the worker thread,
 * many in one batch each with its own content, the system's errors with their codes, a read that is
 * held in the worker (a test gate in front of the worker's own code) holding up that worker only, not
 * the main thread, a FIFO with no writer answering at once instead of holding a worker in open(2)
 * forever, and reads after the idle worker was stopped; a large batch shared by the workers.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FIRST_READ_BYTES } from '../../src/storage/blocking-reads.js';

/** The gate: while its value is 0, a worker given a batch with a path ending in `/held` waits before reading it. */
const gate = new Int32Array(new SharedArrayBuffer(4));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  // registered before the worker's own listener, so it runs first and holds the batch
  const held = `
const { parentPort: gatePort, workerData: gateBuffer } = require('node:worker_threads');
gatePort.on('message', (m) => { if (m.paths.some((p) => p.endsWith('/held'))) Atomics.wait(new Int32Array(gateBuffer), 0, 0); });
`;
  class Gated extends real.Worker {
    constructor(source: string, options: ConstructorParameters<typeof real.Worker>[1]) {
      super(held + source, { ...options, workerData: gate.buffer });
    }
  }
  return { ...real, Worker: Gated };
});
const { IDLE_STOP_MS, WORKERS, WorkerReads } = await import('../../src/storage/worker-reads.js');

function openGate(): void {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wharf-worker-reads-'));
  Atomics.store(gate, 0, 0);
});
afterEach(async () => {
  openGate();
  await rm(root, { recursive: true, force: true });
});

/** `size` bytes that differ from one offset to the next (a misplaced chunk shows). */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed + (i >> 8)) & 0xff;
  return b;
}

describe('WorkerReads', () => {
  it('reads files of any length whole, many asked for at once each getting its own bytes', async () => {
    const sizes = [0, 1, 300, FIRST_READ_BYTES - 1, FIRST_READ_BYTES, FIRST_READ_BYTES + 1, 3 * FIRST_READ_BYTES + 17];
    const files = Array.from({ length: 60 }, (_, i) => ({ path: join(root, `f${i}`), bytes: pattern(sizes[i % sizes.length]!, i) }));
    for (const f of files) await writeFile(f.path, f.bytes);
    const reads = new WorkerReads();
    // asked for in one turn of the event loop: one batch, the contents in one buffer
    const read = await Promise.all(files.map((f) => reads.readFile(f.path)));
    for (let i = 0; i < files.length; i++) expect(read[i]!.equals(files[i]!.bytes), `file ${i}`).toBe(true);
  });

  it('lists folders and rejects with the system error codes, beside successful reads in the same batch', async () => {
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'file'), 'sha256:abc');
    const reads = new WorkerReads();
    const [names, missingFolder, notFolder, missingFile, folder, file] = await Promise.allSettled([
      reads.readdir(root),
      reads.readdir(join(root, 'missing')),
      reads.readdir(join(root, 'file')),
      reads.readFile(join(root, 'missing')),
      reads.readFile(join(root, 'sub')),
      reads.readFile(join(root, 'file')),
    ]);
    expect(names.status === 'fulfilled' && names.value.sort()).toEqual(['file', 'sub']);
    expect(missingFolder).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    expect(notFolder).toMatchObject({ status: 'rejected', reason: { code: 'ENOTDIR' } });
    expect(missingFile).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    expect(folder).toMatchObject({ status: 'rejected', reason: { code: 'EISDIR' } });
    expect(file.status === 'fulfilled' && file.value.toString()).toBe('sha256:abc');
  });

  it('reads off the main thread: a read held in the worker leaves timers running, and ends once let go', async () => {
    await writeFile(join(root, 'held'), 'sha256:held');
    const reads = new WorkerReads();
    let settled = false;
    const read = reads.readFile(join(root, 'held'));
    void read.finally(() => (settled = true));
    // the worker is now waiting at the gate; the main thread still runs timers
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks === 5) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    expect(settled).toBe(false);
    openGate();
    expect((await read).toString()).toBe('sha256:held');
  });

  it('answers a FIFO with no writer at once (ESPIPE), not holding its worker in open(2), which kept later batches waiting and process.exit from returning', async () => {
    const fifo = join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reads = new WorkerReads();
    const outcome = await Promise.race([
      reads.readFile(fifo).then(
        () => 'read',
        (err: NodeJS.ErrnoException) => err.code,
      ),
      new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting')),
    ]);
    // a worker blocked in open(2) is let go by a writer, so that this process can exit if the read hung
    if (outcome === 'still waiting') await (await open(fifo, 'w')).close();
    expect(outcome).toBe('ESPIPE');
    // the read's error names the path (the system's message for pread(2) does not), for the GC's and the index walk's errors
    await expect(reads.readFile(fifo)).rejects.toThrow(`ESPIPE: invalid seek, read '${fifo}'`);
    // the same worker still reads
    await writeFile(join(root, 'file'), 'after');
    expect((await reads.readFile(join(root, 'file'))).toString()).toBe('after');
  });

  it('shares a large batch between the workers: reads given to the others finish while one worker is held', async () => {
    const files = Array.from({ length: 4 * WORKERS - 1 }, (_, i) => join(root, `f${i}`));
    for (const [i, f] of files.entries()) await writeFile(f, `content ${i}`);
    await writeFile(join(root, 'held'), 'held');
    const reads = new WorkerReads();
    // one turn of the event loop: the held file first, so the first worker's share waits at the gate
    const held = reads.readFile(join(root, 'held'));
    const read = files.map((f) => reads.readFile(f));
    const others = await Promise.all(read.slice(3));
    expect(others.map((b) => b.toString())).toEqual(files.slice(3).map((_, i) => `content ${i + 3}`));
    let firstShareDone = false;
    void Promise.all(read.slice(0, 3)).then(() => (firstShareDone = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(firstShareDone).toBe(false);
    openGate();
    expect((await held).toString()).toBe('held');
    expect((await Promise.all(read.slice(0, 3))).map((b) => b.toString())).toEqual(files.slice(0, 3).map((_, i) => `content ${i}`));
  });

  it('reads again after the worker was stopped for being idle', async () => {
    await writeFile(join(root, 'link'), 'sha256:abc');
    const reads = new WorkerReads();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      expect((await reads.readFile(join(root, 'link'))).toString()).toBe('sha256:abc');
      await vi.advanceTimersByTimeAsync(IDLE_STOP_MS); // the idle worker is terminated
    } finally {
      vi.useRealTimers();
    }
    expect((await reads.readdir(root)).sort()).toEqual(['link']);
    expect((await reads.readFile(join(root, 'link'))).toString()).toBe('sha256:abc');
  });
});
