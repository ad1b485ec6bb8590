/**
 * The StorageDriver contract run against the catalog's WatchedDriver over the filesystem driver: the
 * decorator changes nothing a caller sees (its reports go to a catalog, ignored here).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryChanges, WatchedDriver, type RepositoryChanges } from '../../src/registry/watched-driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { driverContract } from './contract.js';

const ignored: RepositoryChanges = { contentWritten: () => undefined, contentRemoved: () => undefined };

driverContract('watched filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-storage-'));
  return {
    driver: new WatchedDriver(new FilesystemDriver(root), repositoryChanges(ignored)),
    reopen: async () => new WatchedDriver(new FilesystemDriver(root), repositoryChanges(ignored)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
