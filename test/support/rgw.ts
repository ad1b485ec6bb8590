/**
 * Starts Ceph's RADOS Gateway (a real S3: SigV4 checked, UploadPartCopy, multipart listings, presigned
 * URLs) for a test or for `npm run bench -- --s3`: a one-node cluster (one monitor, one OSD on a sparse
 * file, one radosgw, no cephx) in a fresh temporary folder, on free ports of 127.0.0.1, through this
 * repository's own copy of the scripts in `rgw/` (after /work/shared/real-s3). `stop` stops the daemons
 * by the pids they wrote at start (read then, so a clean-up that removed the folder first cannot hide
 * them) and removes the folder; a test process that ends without `stop` kills them on its way out. Needs Debian's `radosgw ceph-mon ceph-osd uuid-runtime` (about 6 s to start).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { repositoryRoot, type RunningS3 } from './s3rver.js';

const run = promisify(execFile);
const SCRIPTS = join(repositoryRoot(), 'test/support/rgw');

/** The Debian packages RGW needs, for error messages and `.ci/run`. */
export const RGW_PACKAGES = 'radosgw ceph-mon ceph-osd uuid-runtime';

/** True when the binaries `start-rgw.sh` needs are on this machine. */
export function rgwInstalled(): boolean {
  return ['radosgw', 'ceph-mon', 'ceph-osd', 'uuidgen'].every((b) =>
    (process.env.PATH ?? '/usr/bin').split(':').some((dir) => existsSync(join(dir, b))),
  );
}

/**
 * A port on 127.0.0.1 nobody listens on now, with the `next` ports after it free too, and none of the
 * range inside `taken` (ports chosen for the same cluster but not bound yet: the kernel may offer them again).
 */
async function freePort(next = 0, taken: Array<[number, number]> = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const overlaps = taken.some(([first, last]) => port <= last && port + next >= first);
    if (!overlaps && port + next < 65535 && (await portsFree(port + 1, next))) {
      taken.push([port, port + next]);
      return port;
    }
  }
}

async function portsFree(first: number, count: number): Promise<boolean> {
  for (let p = first; p < first + count; p++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** How {@link startRgw} sizes the store. */
export interface RgwOptions {
  /** the bucket to create (default `wharf-test`) */
  bucket?: string;
  /** the folder to make the cluster's temporary folder in (default the OS's) */
  parent?: string;
  /** GiB of the OSD's sparse block file (default 20; only what is written takes disk space) */
  sizeGiB?: number;
}

/**
 * Starts RGW with bucket `options.bucket`; resolves when it answers S3 requests.
 * @throws Error naming the Debian packages when they are missing, or with the script's output when a second cluster does not come up either
 */
export async function startRgw(options: RgwOptions = {}): Promise<RunningS3> {
  if (!rgwInstalled()) throw new Error(`Ceph RGW is not installed: apt-get install -y --no-install-recommends ${RGW_PACKAGES}`);
  try {
    return await startCluster(options);
  } catch (err) {
    // a throwaway cluster that did not come up once (seen in CI: radosgw crashed at its first start)
    // is not what a test checks: say so, and start a new one in a new folder on new ports
    process.stderr.write(`${(err as Error).message}\nstarting a new RGW cluster once more\n`);
    return startCluster(options);
  }
}

async function startCluster(options: RgwOptions): Promise<RunningS3> {
  const taken: Array<[number, number]> = [];
  const bucket = options.bucket ?? 'wharf-test';
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'wharf-rgw-'));
  const env = {
    ...process.env,
    RGW_DIR: dir,
    RGW_PORT: String(await freePort(0, taken)),
    MON_PORT: String(await freePort(1, taken)),
    OSD_PORT_MIN: String(await freePort(99, taken)),
    OSD_SIZE_GB: String(options.sizeGiB ?? 20),
    S3_BUCKET: bucket,
  };
  // the daemons' pids, read once they run: stopping needs no file (a clean-up may remove the folder first)
  let pids: number[] = [];
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const kill = (pid: number, signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  };
  const stopSync = (): void => {
    // the test process ends without stop(): no time to wait for a clean shutdown of a throwaway cluster
    for (const pid of pids) kill(pid, 'SIGKILL');
    spawnSync('rm', ['-rf', dir]);
  };
  process.once('exit', stopSync);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopSync);
    for (const pid of pids) {
      kill(pid, 'SIGTERM'); // radosgw first, then the OSD, then the monitor
      for (let i = 0; i < 100 && alive(pid); i++) await delay(100);
      if (alive(pid)) kill(pid, 'SIGKILL');
    }
    await run('bash', [join(SCRIPTS, 'stop-rgw.sh')], { env }).catch(() => undefined); // whatever a failed start left
    await rm(dir, { recursive: true, force: true });
  };
  const readPids = async (): Promise<number[]> => {
    const found: number[] = [];
    for (const name of ['client.rgw.a', 'osd.0', 'mon.a']) {
      const text = await readFile(join(dir, 'run', `${name}.pid`), 'utf8').catch(() => '');
      if (/^\d+\s*$/.test(text)) found.push(Number(text));
    }
    return found;
  };
  try {
    await run('bash', [join(SCRIPTS, 'start-rgw.sh')], { env, timeout: 140_000 }); // about 10 s; two attempts fit a 300 s hook
    pids = await readPids();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    pids = await readPids();
    await stop().catch(() => undefined);
    throw new Error(`Ceph RGW did not start: ${e.stderr?.trim() || e.message}`);
  }
  const vars = Object.fromEntries(
    (await readFile(join(dir, 's3.env'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  return { endpoint: vars.S3_ENDPOINT!, bucket, accessKey: vars.S3_ACCESS_KEY!, secretKey: vars.S3_SECRET_KEY!, pid: pids[0]!, stop, kind: 'rgw' };
}
