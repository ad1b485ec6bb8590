/**
 * The StorageDriver contract run against the S3 driver on s3rver (started by this file, in its own process, on a free port).
 * Each test gets its own root directory (key prefix) in one bucket; listings page 50 keys at a time, so
 * every listing with more than 50 keys (the long listing's 160 children, the recursive deletes) spans several ListObjectsV2 pages.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { S3Driver } from '../../src/storage/s3.js';
import { startS3rver, type RunningS3 } from '../support/s3rver.js';
import { driverContract } from './contract.js';

let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
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
    storeWritesInPlace: true,
    raceRounds: 15, // about 15 requests a round on S3: 50 rounds would take 20 s
    listPageSize: 50, // the long listing writes 160 children (four pages), not 1,500
  };
});
