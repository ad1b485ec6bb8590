/**
 * The StorageDriver contract run against the S3 driver on Ceph RGW (s3rver where RGW is missing outside CI;
 * see test/support/s3.ts), started by this file on free ports and stopped by pid.
 * Each test gets its own root directory (key prefix) in one bucket; listings page 50 keys at a time, so
 * every listing with more than 50 keys (the long listing's 160 children, the recursive deletes) spans several ListObjectsV2 pages.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, vi } from 'vitest';
import { S3Driver } from '../../src/storage/s3.js';
import { startS3, type RunningS3 } from '../support/s3.js';
import { driverContract } from './contract.js';

// RGW shares 2 cores with everything else here: S3 round trips swing with the machine's load
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3();
}, 300_000); // Ceph RGW starts in about 6 s, longer on a busy machine (and a second time if the first fails)
afterAll(async () => {
  await s3?.stop();
});

/** A driver over `root` in the test bucket, with small list pages and the 5 MiB minimum part size. */
function s3Driver(server: RunningS3, root: string): S3Driver {
  return new S3Driver({
    bucket: server.bucket,
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    rootDirectory: root,
    chunkSize: 5 * 1024 * 1024,
    listPageSize: 50,
  });
}

driverContract('s3', async () => {
  const root = `contract/${randomUUID()}`;
  const driver = s3Driver(s3, root);
  return {
    driver,
    reopen: async () => s3Driver(s3, root),
    cleanup: () => driver.delete('/'),
    appendsExclusiveAcrossInstances: true,
    storeWritesInPlace: s3.kind === 's3rver',
    raceRounds: 15, // about 15 requests a round on S3: 50 rounds would take 20 s
    listPageSize: 50, // the long listing writes 160 children (four pages), not 1,500
  };
});
