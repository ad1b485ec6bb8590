/**
 * The storage the servers under test use, a space of its own for each: a folder on the filesystem, or
 * a bucket on one Ceph RGW (`--s3`; started by test/support/s3.ts, s3rver only where RGW is missing).
 * For each server: the driver lines of its `storage:` configuration, the environment it needs, and how
 * the bench deletes a blob or a repository behind the server's back between rounds.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3Driver } from '../src/storage/s3.js';
import { startS3, type RunningS3 } from '../test/support/s3.js';
import type { ServerKind } from './servers.js';

/** Which storage the run uses. */
export type StorageKind = 'filesystem' | 's3';

/** One server's space in the storage under test. */
export interface ServerStorage {
  /** the lines under `storage:` naming the driver and its settings, indented by two spaces, each ending with a newline */
  driver: string;
  /** the server's environment (this process's, with what the driver needs removed) */
  env: NodeJS.ProcessEnv;
  /**
   * Deletes `path` and everything under it; `path` is relative to the registry's data root, in the
   * layout both registries share (`blobs/sha256/ab/<hex>`, `repositories/<name>`).
   */
  remove(path: string): Promise<void>;
}

/** The storage of a run: a space for each server, and the end of whatever it started. */
export interface StorageUnderTest {
  kind: StorageKind;
  /** One line for the table's header: what the servers store into. */
  description: string;
  /** Notes for under the table: how the storage bends the figures. */
  notes: string[];
  /**
   * Makes the space of server `kind`, whose other files go to folder `dir`.
   * @throws Error when the store refuses (e.g. the bucket cannot be created)
   */
  space(kind: ServerKind, dir: string): Promise<ServerStorage>;
  /** Stops what the storage started (RGW or s3rver) and removes its files; safe to call twice. */
  stop(): Promise<void>;
  /** The S3 store the run started (endpoint, keys, the daemon's pid), for tools that read the buckets themselves. */
  s3?: RunningS3;
}

/** Distribution keeps its data under `docker/registry/v2` of its root directory, on every driver. */
const DISTRIBUTION_DATA = 'docker/registry/v2';

/** Filesystem storage: each server a folder `dir/storage`. */
export function filesystemStorage(): StorageUnderTest {
  return {
    kind: 'filesystem',
    description: 'Filesystem storage in a temporary folder',
    notes: [],
    async space(kind, dir) {
      const folder = join(dir, 'storage');
      await mkdir(folder, { recursive: true });
      const data = kind === 'distribution' ? join(folder, DISTRIBUTION_DATA) : folder;
      return {
        driver: `  filesystem:\n    rootdirectory: ${folder}\n`,
        env: process.env,
        remove: (path) => rm(join(data, path), { recursive: true, force: true }),
      };
    },
    stop: async () => undefined,
  };
}

/**
 * The `storage:` driver lines of Distribution 2.8 on an S3-compatible store at `endpoint` (plain HTTP):
 * its s3 driver addresses the bucket path-style whenever `regionendpoint` is set; `multipartcopythresholdsize`
 * at its maximum (5 GiB) makes every move of an upload into the blob store one CopyObject (by reference on
 * RGW, its fastest commit there; s3rver has no UploadPartCopy at all); redirects are off so Distribution
 * serves blob bytes itself, as Wharf does by default.
 */
export function distributionS3Driver(endpoint: string, bucket: string, accessKey: string, secretKey: string): string {
  return (
    `  s3:\n    accesskey: ${accessKey}\n    secretkey: ${secretKey}\n    region: us-east-1\n    regionendpoint: ${endpoint}\n` +
    `    bucket: ${bucket}\n    secure: false\n    v4auth: true\n    multipartcopythresholdsize: 5368709120\n` +
    `  redirect:\n    disable: true\n`
  );
}

/** The `storage:` driver lines of Wharf on an S3-compatible store at `endpoint` (README, "S3 storage"). */
export function wharfS3Driver(endpoint: string, bucket: string, accessKey: string, secretKey: string): string {
  return `  s3:\n    bucket: ${bucket}\n    region: us-east-1\n    endpoint: ${endpoint}\n    forcepathstyle: true\n    accesskey: ${accessKey}\n    secretkey: ${secretKey}\n`;
}

/**
 * S3 storage on one store started now (Ceph RGW, see test/support/s3.ts), its files in a folder of
 * `parent`: Wharf in bucket `wharf-bench`, Distribution in bucket `distribution-bench`, both at the
 * bucket's root.
 * @throws Error when the store does not start
 */
export async function s3Storage(parent: string): Promise<StorageUnderTest> {
  const s3 = await startS3({ bucket: 'wharf-bench', parent, sizeGiB: 60 });
  // the bench's own access to the buckets (creating Distribution's, deleting behind the servers' backs): Wharf's S3 driver
  const drivers: S3Driver[] = [];
  const driverAt = (bucket: string, rootDirectory: string): S3Driver => {
    const driver = new S3Driver({
      bucket,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      rootDirectory,
      chunkSize: 0,
    });
    drivers.push(driver);
    return driver;
  };
  // Distribution's AWS SDK for Go refuses to start when AWS_CA_BUNDLE is set ("unable to load custom CA
  // bundle, HTTPClient's transport unsupported type"); the store is plain HTTP and needs no CA.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'AWS_CA_BUNDLE'));
  let stopped = false;
  const rgw = s3.kind === 'rgw';
  return {
    kind: 's3',
    s3,
    description: rgw
      ? 'S3 storage on Ceph RGW 16.2 (one node on this machine: a monitor, an OSD on a sparse file, radosgw; a bucket for each server), blob bytes served by the registries (no redirects)'
      : 'S3 storage on s3rver 3.7.1, a fake (Ceph RGW is not installed; a bucket for each server), blob bytes served by the registries (no redirects)',
    notes: rgw
      ? [
          "peak RSS is the registry's process alone: RGW's daemons (about 225-415 MiB) are not counted",
          "RGW shares the machine's 2 cores with both registries and the load generator: S3 figures are bound by RGW's own CPU",
          "Distribution commits an upload with one CopyObject (multipartcopythresholdsize 5 GiB: by reference on RGW, its fastest); " +
            'Wharf completes the session\'s multipart upload and points the blob at it (no copy)',
        ]
      : [
          "peak RSS is the registry's process alone: s3rver's own memory is not counted",
          "s3rver is a fake (no UploadPartCopy, no signature check, listings read a metadata file per key): install RGW for figures that mean something",
        ],
    async space(kind) {
      const bucket = kind === 'wharf' ? s3.bucket : 'distribution-bench';
      const store = driverAt(bucket, kind === 'distribution' ? DISTRIBUTION_DATA : '');
      if (bucket !== s3.bucket) await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
      return {
        driver: (kind === 'wharf' ? wharfS3Driver : distributionS3Driver)(s3.endpoint, bucket, s3.accessKey, s3.secretKey),
        env,
        remove: (path) => store.delete(`/${path}`),
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const driver of drivers) driver.client.destroy();
      await s3.stop();
    },
  };
}
