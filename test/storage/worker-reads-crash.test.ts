/**
 * The server's walk reads (src/storage/worker-reads.ts) when the worker ends under them: a worker
 * terminated with a batch in flight rejects that batch's reads (none hangs), and the next read starts
 * a new worker.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const started: Worker[] = [];
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Recorded extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      started.push(this);
    }
  }
  return { ...real, Worker: Recorded };
});
const { WorkerReads } = await import('../../src/storage/worker-reads.js');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wharf-worker-crash-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('WorkerReads when its worker ends', () => {
  it('rejects the reads of a batch in flight when the worker is terminated, and reads again with a new worker', async () => {
    await writeFile(join(root, 'file'), 'sha256:abc');
    const reads = new WorkerReads();
    expect((await reads.readFile(join(root, 'file'))).toString()).toBe('sha256:abc');
    const first = started.at(-1)!;
    // a batch the worker cannot answer before it is terminated: a long one
    const many = Array.from({ length: 2000 }, () => reads.readFile(join(root, 'file')).then(() => 'read', (err: Error) => err.message));
    await new Promise((r) => setImmediate(r)); // the batch is sent
    await first.terminate();
    const outcomes = await Promise.all(many);
    expect(outcomes.some((o) => o !== 'read')).toBe(true);
    expect(outcomes.filter((o) => o !== 'read').every((o) => o.includes('exited'))).toBe(true);
    expect((await reads.readFile(join(root, 'file'))).toString()).toBe('sha256:abc');
    expect(started.at(-1)).not.toBe(first);
  });
});
