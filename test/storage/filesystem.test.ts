/**
 * The StorageDriver contract run against the filesystem driver, on a fresh temporary root per test:
 * as the server uses it, and as `wharf gc` does (reads not cached, and synchronous).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
