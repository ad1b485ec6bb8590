/**
 * Starts s3rver for a test (or for `npm run bench -- --s3`) as a separate process (see
 * `s3rver-server.mjs`) on a free port of 127.0.0.1, over a fresh temporary directory, with one bucket;
 * `stop` ends it and removes the directory.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** s3rver's fixed credentials (access key and secret key alike). */
export const S3RVER_KEY = 'S3RVER';

/**
 * The repository's root: the nearest folder above this module holding package.json. This module runs
 * from test/support/ in the tests and compiled, from dist/test/support/, in the bench, which has no copy
 * of the server script.
 */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const SERVER_SCRIPT = join(repositoryRoot(), 'test/support/s3rver-server.mjs');

/** A running S3 store for tests: s3rver (a fake) or Ceph RGW (real, see rgw.ts). */
export interface RunningS3 {
  /** which store runs */
  kind: 's3rver' | 'rgw';
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** the process id (RGW: the radosgw daemon's), e.g. to measure it apart */
  pid: number;
  /** Stops the process (RGW: its daemons) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver with bucket `bucket`, its objects in a new folder `wharf-s3rver-*` of `parent`.
 * @throws Error with s3rver's stderr when it does not come up within 30 s
 */
export async function startS3rver(bucket = 'wharf-test', parent = tmpdir()): Promise<RunningS3> {
  const directory = await mkdtemp(join(parent, 'wharf-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', SERVER_SCRIPT, directory, bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(child, 'exit');
  const orphan = (): void => void child.kill('SIGKILL'); // the test process ends without stop()
  process.once('exit', orphan);
  void exited.then(() => process.off('exit', orphan));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const firstLine = new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`s3rver did not start within 30 s: ${stderr}`)), 30_000).unref();
    });
    const { port } = JSON.parse(await firstLine) as { port: number };
    return { endpoint: `http://127.0.0.1:${port}`, bucket, accessKey: S3RVER_KEY, secretKey: S3RVER_KEY, pid: child.pid!, stop, kind: 's3rver' };
  } catch (err) {
    child.kill('SIGKILL');
    await stop();
    throw err;
  }
}

/**
 * The `WHARF_STORAGE_S3_*` environment that points `wharf serve` at `s3`'s bucket under key prefix `root`.
 * @param extra more `WHARF_STORAGE_S3_*` settings, e.g. `{ WHARF_STORAGE_S3_REDIRECT: 'true' }`
 */
export function wharfS3Env(s3: RunningS3, root: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WHARF_STORAGE_S3_BUCKET: s3.bucket,
    WHARF_STORAGE_S3_ENDPOINT: s3.endpoint,
    WHARF_STORAGE_S3_FORCEPATHSTYLE: 'true',
    WHARF_STORAGE_S3_ACCESSKEY: s3.accessKey,
    WHARF_STORAGE_S3_SECRETKEY: s3.secretKey,
    WHARF_STORAGE_S3_ROOTDIRECTORY: root,
    ...extra,
  };
}
