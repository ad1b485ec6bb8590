/**
 * Global setup of the e2e suite (runs once, in vitest's main process).
 *
 * - Docker: uses the daemon at `DOCKER_HOST` when one is set and answers `docker version`; otherwise
 *   starts `dockerd` itself as /work/shared/DESIGN.md shows (vfs storage driver, no iptables, no
 *   bridge, everything under a fresh temp dir) and stops it by pid in teardown.
 * - Imports the base image `wharf-e2e-base:latest` from Debian's static busybox.
 * - Hands the tests the daemon's address with vitest's `provide` (read with `inject` in
 *   `docker-env.ts`). When a tool is missing, the tests that need it fail with a message naming the
 *   Debian package; they are never skipped, and tests that need no tool still run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, symlink, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { BASE_IMAGE, missingTools, PID_DIR_ENV, removeDir, run, tempDir, TOOLS, waitFor, type RunResult } from './helpers.js';

/** Environment for docker commands run here: the daemon's address and a throwaway client config. */
function dockerEnv(host: string, configDir: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: configDir };
}

/** Asks the daemon at `host` for its version; resolves to the result (never throws). */
async function dockerVersion(host: string, configDir: string): Promise<RunResult | undefined> {
  try {
    return await run('docker', ['version', '--format', '{{.Server.Version}}'], {
      env: dockerEnv(host, configDir),
      timeoutMs: 10_000,
    });
  } catch {
    return undefined;
  }
}

/** A dockerd started by this setup. */
interface OwnDaemon {
  host: string;
  dir: string;
  process: ChildProcess;
  exited: Promise<void>;
  log: string;
}

/** The last lines of a file, for error messages. */
function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Starts dockerd under a fresh temp dir (short path: unix socket paths are limited to ~107 bytes). */
async function startDockerd(configDir: string): Promise<OwnDaemon> {
  const dir = await tempDir('wd-');
  const host = `unix://${dir}/docker.sock`;
  const log = join(dir, 'dockerd.log');
  const fd = openSync(log, 'a');
  const args = [
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--storage-driver=vfs',
    '--data-root',
    join(dir, 'root'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'pid'),
    '-H',
    host,
  ];
  const child = spawn('dockerd', args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      exitInfo = `cannot start dockerd: ${e.message}`;
      resolve();
    });
    child.on('exit', (code, signal) => {
      exitInfo = `dockerd exited with code ${code}, signal ${signal}`;
      resolve();
    });
  });
  const daemon: OwnDaemon = { host, dir, process: child, exited, log };
  try {
    await waitFor('dockerd to answer `docker version`', async () => (await dockerVersion(host, configDir)) !== undefined, {
      timeoutMs: 60_000,
      intervalMs: 200,
      failFast: () => {
        if (exitInfo) throw new Error(exitInfo);
      },
    });
  } catch (e) {
    await stopDockerd(daemon);
    throw new Error(
      `${(e as Error).message}\ndockerd ${args.join(' ')}\n--- dockerd log (${log}) ---\n${tail(log)}\n` +
        'dockerd needs root (or rootless setup); DESIGN.md "Real components on this machine" shows how it runs here.',
    );
  }
  return daemon;
}

/** Stops our dockerd by pid (SIGTERM, SIGKILL after 30 s), waits for it to exit, removes its directory. */
async function stopDockerd(daemon: OwnDaemon): Promise<void> {
  if (daemon.process.exitCode === null && daemon.process.signalCode === null) {
    daemon.process.kill('SIGTERM');
    const timer = setTimeout(() => daemon.process.kill('SIGKILL'), 30_000);
    await daemon.exited;
    clearTimeout(timer);
  }
  try {
    await removeDir(daemon.dir);
  } catch (e) {
    console.warn(`[e2e] could not remove ${daemon.dir}: ${(e as Error).message}`);
  }
}

/** Builds `wharf-e2e-base:latest` with `docker import` of a tar holding /bin/busybox and its applet links. */
async function importBaseImage(host: string, configDir: string, work: string): Promise<void> {
  const rootfs = join(work, 'rootfs');
  const bin = join(rootfs, 'bin');
  await mkdir(bin, { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await copyFile('/bin/busybox', join(bin, 'busybox'));
  const applets = (await run('/bin/busybox', ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a));
  for (const applet of applets) {
    if (applet !== 'busybox') await symlink('busybox', join(bin, applet));
  }
  const names = (await readdir(bin)).length;
  if (names < 50) throw new Error(`busybox --list gave only ${names} applets; is /bin/busybox Debian's busybox-static?`);
  const tarFile = join(work, 'base.tar');
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tarFile, '.']);
  await run('docker', ['import', '--change', 'CMD ["/bin/sh"]', tarFile, BASE_IMAGE], {
    env: dockerEnv(host, configDir),
  });
  const check = await run('docker', ['run', '--rm', '--network', 'none', BASE_IMAGE, 'echo', 'base-ok'], {
    env: dockerEnv(host, configDir),
  });
  if (check.stdout.trim() !== 'base-ok') throw new Error(`${BASE_IMAGE} does not run: ${check.output}`);
}

/** Kills (SIGKILL) the servers whose pid files are still in `dir`: a worker left them running. */
async function killLeakedServers(dir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // already gone
    }
    if (!cmdline.includes('serve')) continue; // the pid was reused by something else
    console.warn(`[e2e] killing a server a test left running: pid ${pid} (${cmdline.trim()})`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
  }
}

/** vitest global setup: provides `dockerHost` and `dockerProblem`; returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const work = await tempDir('wharf-e2e-setup-');
  const configDir = join(work, 'docker-config');
  await mkdir(configDir);
  let daemon: OwnDaemon | undefined;
  // Inherited by the workers (they are started after the global setup); see PID_DIR_ENV.
  const pidDir = join(work, 'pids');
  await mkdir(pidDir);
  process.env[PID_DIR_ENV] = pidDir;

  const teardown = async () => {
    await killLeakedServers(pidDir);
    if (daemon) await stopDockerd(daemon);
    await removeDir(work);
  };

  const problems = await missingTools([TOOLS.docker, TOOLS.busybox, TOOLS.tar]);
  let host = '';
  if (problems.length === 0) {
    const given = process.env.DOCKER_HOST;
    if (given && (await dockerVersion(given, configDir))) {
      host = given;
    } else {
      problems.push(...(await missingTools([TOOLS.dockerd])));
      if (problems.length === 0) {
        if (given) console.warn(`[e2e] DOCKER_HOST=${given} does not answer; starting a dockerd of our own`);
        try {
          daemon = await startDockerd(configDir);
          const child = daemon.process;
          // Safety net when vitest exits without running the teardown (e.g. interrupted).
          process.once('exit', () => child.kill('SIGTERM'));
        } catch (e) {
          await teardown();
          throw e;
        }
        host = daemon.host;
      }
    }
  }
  if (host) {
    try {
      await importBaseImage(host, configDir, work);
    } catch (e) {
      await teardown();
      throw e;
    }
  }
  project.provide('dockerHost', host);
  project.provide('dockerProblem', problems.join('\n'));
  return teardown;
}
