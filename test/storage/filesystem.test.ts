/**
 * The StorageDriver contract run against the filesystem driver, on a fresh temporary root per test:
 * as the server uses it, and as `wharf gc` does (reads not cached, and synchronous).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { readOnce } from '../../src/storage/read-once.js';
import { driverContract } from './contract.js';

driverContract('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-storage-'));
  return {
    driver: new FilesystemDriver(root),
    reopen: async () => new FilesystemDriver(root), // a restart: a new instance over the same folder
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

driverContract('filesystem, blocking uncached reads', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-storage-'));
  const open = () => readOnce(new FilesystemDriver(root, { blockingReads: true }));
  return {
    driver: open(),
    reopen: async () => open(),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('filesystem append: writeBuffer', () => {
  /** How many writes the append of 8 MiB in 64 KiB chunks makes, all chunks ready at once. */
  async function writesOf(writeBuffer: number | undefined): Promise<{ writes: number; bytes: Buffer }> {
    const root = await mkdtemp(join(tmpdir(), 'wharf-storage-'));
    try {
      const driver = new FilesystemDriver(root);
      const handle = await open(join(root, 'probe'), 'w');
      const proto = Object.getPrototypeOf(handle) as Record<'write' | 'writev', (...args: unknown[]) => unknown>;
      await handle.close();
      let writes = 0;
      const originals = { write: proto.write, writev: proto.writev };
      for (const name of ['write', 'writev'] as const) {
        proto[name] = function (this: unknown, ...args: unknown[]) {
          writes++;
          return originals[name].apply(this, args);
        };
      }
      const chunks = Array.from({ length: 128 }, (_, i) => Buffer.alloc(65_536, i));
      try {
        await driver.append('/uploads/x/data', Readable.from(chunks), { offset: 0, writeBuffer });
      } finally {
        Object.assign(proto, originals);
      }
      return { writes, bytes: await driver.getContent('/uploads/x/data', { cache: false }) };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  it('gathers up to writeBuffer bytes into one write (fewer writes), the bytes unchanged', async () => {
    const small = await writesOf(undefined);
    const large = await writesOf(8 * 1024 * 1024);
    expect(large.bytes.equals(small.bytes)).toBe(true);
    expect(large.bytes.length).toBe(8 * 1024 * 1024);
    expect(small.writes).toBeGreaterThanOrEqual(4);
    expect(large.writes).toBeLessThan(small.writes / 2);
  });
});
