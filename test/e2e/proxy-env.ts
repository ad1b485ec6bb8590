/**
 * The real parts of the pull-through e2e test, each started here and stopped by its pid: CNCF
 * Distribution (`docker-registry serve`) as the upstream, whose access log counts the requests it
 * served; a Docker daemon of its own started with `--registry-mirror`; containerd with a hosts
 * directory for `ctr`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, removeDir, run, tempDir, waitFor, type RunOptions, type RunResult } from './helpers.js';

/** A background process started by {@link startDaemon}. */
export interface Daemon {
  readonly pid: number;
  /** what it wrote to stdout and stderr so far */
  log(): string;
  /** SIGTERM (SIGKILL after 20 s), and waits for it to exit */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `cmd args` with its output in `logFile`, and polls `ready` until it answers true.
 * @throws Error with the end of its log when it exits first or is not ready within `timeoutMs`
 */
export async function startDaemon(cmd: string, args: string[], logFile: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<Daemon> {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', (e) => ((exit = `cannot start ${cmd}: ${e.message}`), resolve()));
    child.on('exit', (code, signal) => ((exit = `${cmd} exited with code ${code}, signal ${signal}`), running.delete(child), resolve()));
  });
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const daemon: Daemon = {
    pid: child.pid ?? -1,
    log,
    stop: async () => {
      if (exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(`${cmd} to be ready`, ready, {
      timeoutMs,
      intervalMs: 100,
      failFast: () => {
        if (exit) throw new Error(exit);
      },
    });
  } catch (e) {
    await daemon.stop();
    throw new Error(`${(e as Error).message}\n${cmd} ${args.join(' ')}\n--- log ---\n${log().slice(-4000)}`);
  }
  return daemon;
}

/** True when `url` answers (any status) within 2 s. */
async function answers(url: string, status?: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return status === undefined || res.status === status;
  } catch {
    return false;
  }
}

/** CNCF Distribution on a loopback port, restartable on the same port and storage. */
export interface DistributionServer {
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  /** requests it served (from its access log) with `method` whose path matches `path` */
  count(method: string, path: RegExp): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts `docker-registry serve` (Debian's CNCF Distribution 2.8) on a free port with its storage under `dir`. */
export async function startDistribution(dir: string): Promise<DistributionServer> {
  const port = await freePort();
  await mkdir(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yml');
  await writeFile(config, `version: 0.1\nlog: {level: info}\nstorage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}, delete: {enabled: true}}\nhttp: {addr: "127.0.0.1:${port}"}\n`);
  const logFile = join(dir, 'registry.log');
  let daemon: Daemon | undefined;
  const url = `http://127.0.0.1:${port}`;
  const server: DistributionServer = {
    host: `127.0.0.1:${port}`,
    url,
    count: (method, path) =>
      (daemon?.log() ?? readFileSync(logFile, 'utf8'))
        .split('\n')
        .map((line) => /"([A-Z]+) (\S+) HTTP\/1\.1"/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && m[1] === method && path.test(m[2]!)).length,
    stop: async () => {
      await daemon?.stop();
      daemon = undefined;
    },
    start: async () => {
      daemon = await startDaemon('docker-registry', ['serve', config], logFile, () => answers(`${url}/v2/`, 200));
    },
  };
  await server.start();
  return server;
}

/** containerd of its own, and `ctr` bound to it with a hosts directory. */
export interface Containerd {
  /** the folder of `<registry>/hosts.toml` files (`--hosts-dir`) */
  hostsDir: string;
  /** runs `ctr --address SOCK [-n namespace] args` */
  ctr(args: string[], namespace?: string, opts?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Starts `containerd --root D/root --state D/state --address D/sock` under a fresh temp dir (short: socket paths are limited). */
export async function startContainerd(): Promise<Containerd> {
  const dir = await tempDir('wc-');
  const address = join(dir, 'c.sock');
  const hostsDir = join(dir, 'certs.d');
  await mkdir(hostsDir);
  const config = join(dir, 'config.toml');
  // no CRI plugin: ctr needs only the content store, snapshots and images
  await writeFile(config, 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n');
  const daemon = await startDaemon(
    'containerd',
    ['--config', config, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address],
    join(dir, 'containerd.log'),
    async () => (await run('ctr', ['--address', address, 'version'], { allowFailure: true, timeoutMs: 5000 })).code === 0,
  );
  return {
    hostsDir,
    ctr: (args, namespace = 'default', opts = {}) => run('ctr', ['--address', address, '-n', namespace, ...args], { timeoutMs: 180_000, ...opts }),
    stop: async () => {
      await daemon.stop();
      await removeDir(dir);
    },
  };
}

/** A Docker daemon of the test's own, started with `--registry-mirror`. */
export interface MirroredDockerd {
  /** runs `docker args` against this daemon */
  docker(args: string[], opts?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Starts dockerd (as DESIGN.md shows: vfs, no iptables, no bridge) with `--registry-mirror mirror` under a fresh temp dir. */
export async function startMirroredDockerd(mirror: string): Promise<MirroredDockerd> {
  const dir = await tempDir('wm-');
  const host = `unix://${dir}/docker.sock`;
  const env = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, 'client') };
  const docker = (args: string[], opts: RunOptions = {}) => run('docker', args, { timeoutMs: 180_000, ...opts, env: { ...env, ...opts.env } });
  const args = ['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=vfs', '--registry-mirror', mirror];
  args.push('--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid'), '-H', host);
  const daemon = await startDaemon('dockerd', args, join(dir, 'dockerd.log'), async () => (await docker(['version'], { allowFailure: true, timeoutMs: 10_000 })).code === 0, 120_000);
  return {
    docker,
    stop: async () => {
      await daemon.stop();
      await removeDir(dir);
    },
  };
}
