/**
 * The servers under test, each a child process on a free loopback port with a storage space of its
 * own (see storage.ts): Wharf (`dist/src/main.js serve`, the built server, with the node flags of its
 * first lines' `exec env ... node` command as a user's `wharf serve` has them) and CNCF Distribution
 * (Debian's `docker-registry serve config.yml`). Also how a blob or a repository is cleared from a
 * server's storage between rounds, and each server's resident memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { send } from './http.js';
import type { ServerStorage, StorageUnderTest } from './storage.js';

/** Which server. */
export type ServerKind = 'wharf' | 'distribution';

/** A running server under test. */
export interface ServerUnderTest {
  kind: ServerKind;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, for docker image references */
  host: string;
  /** the process id (the server itself, not a wrapper) */
  pid: number;
  /** Deletes blob `digest`'s bytes from the server's storage (between rounds, so every push writes new objects). */
  removeBlob(digest: string): Promise<void>;
  /** Deletes repository `name` (its links, manifests and tags) from the server's storage. */
  removeRepository(name: string): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, read and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as { port: number }).port;
      probe.close(() => resolve(port));
    });
  });
}

/** True when `command` runs (`command --version` exits). */
export function installed(command: string): boolean {
  const result = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return result.error === undefined;
}

/**
 * The handle of a started server. Both registries lay blobs out as `blobs/<alg>/<2 hex>/<hex>` and
 * repositories as `repositories/<name>` under their data root.
 */
function running(kind: ServerKind, port: number, child: ChildProcess, storage: ServerStorage): ServerUnderTest {
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    pid: child.pid!,
    removeBlob: (digest) => {
      const [alg, hex] = digest.split(':') as [string, string];
      return storage.remove(`blobs/${alg}/${hex.slice(0, 2)}/${hex}`);
    },
    removeRepository: (name) => storage.remove(`repositories/${name}`),
    stop: stopper(child),
  };
}

/**
 * Polls `GET url/v2/` until it answers (any status) or `deadlineMs` passes.
 * @throws Error when the process exits first or the deadline passes, with the end of its log
 */
async function waitReady(child: ChildProcess, url: string, logFile: string, deadlineMs = 90_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) break;
    const answered = await send(`${url}/v2/`).then(
      () => true,
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  throw new Error(`the server at ${url} did not answer /v2/ (exit code ${child.exitCode}); its log ends:\n${log.slice(-2000)}`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
}

/**
 * The words of the command that starts node in a script's first lines: on a `#!/bin/sh` script whose
 * second line is `':'; // ...; exec env NAME=value node --flag "$0" "$@"` (src/main.ts), the words
 * after `exec` without `"$0" "$@"`; on a `#!/usr/bin/env -S node --flag` line, the words after `#!`;
 * none when the script has no `#!` line.
 */
function launchWords(script: string): string[] {
  const [first = '', second = ''] = script.split('\n', 2);
  if (!first.startsWith('#!')) return [];
  const exec = /(?:^|;\s*)exec\s+(.*?)\s+"\$0"\s+"\$@"\s*$/.exec(second);
  return exec ? exec[1]!.split(/\s+/) : first.slice(2).trim().split(/\s+/);
}

/**
 * The node flags of the command a script starts node with (`#!/usr/bin/env -S node --flag=1`, or the
 * `exec env ... node --flag=1 "$0" "$@"` line under `#!/bin/sh`, gives `['--flag=1']`; a plain
 * `#!/usr/bin/env node` gives none), so a child started with `process.execPath` runs as the
 * script run by itself would.
 */
export function shebangNodeFlags(script: string): string[] {
  const words = launchWords(script);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return node < 0 ? [] : words.slice(node + 1);
}

/**
 * The environment a script's command sets before node (`NAME=value` words before `node` on a
 * `#!/usr/bin/env -S` line or on the `exec env` line under `#!/bin/sh`: `{ NAME: 'value' }`; none
 * without assignments), so a child started with `process.execPath` gets what the script run by
 * itself would (the C library's malloc settings).
 */
export function shebangEnv(script: string): Record<string, string> {
  const words = launchWords(script);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const assignments = words.slice(0, Math.max(node, 0)).filter((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  return Object.fromEntries(assignments.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
}

/** Starts a process with environment `env`, writing its output straight to `logFile` (not through the bench's own process). */
function launch(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(command, args, { env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

/**
 * The configuration file both registries read: listening on 127.0.0.1:`port`, `info` logs, storage
 * `driver` (the lines under `storage:`, see ServerStorage) with deletes on, then `extra` (top-level keys).
 */
export function configYaml(port: number, driver: string, extra: string): string {
  return `version: 0.1\nlog:\n  level: info\nhttp:\n  addr: 127.0.0.1:${port}\nstorage:\n${driver}  delete:\n    enabled: true\n${extra}`;
}

/**
 * A free loopback port, server `kind`'s space in `storage` and `dir/config.yml` in the configuration
 * shape both registries read (that storage, deletes on, `info` logs), followed by `extra`.
 * @returns the port, the storage space, the configuration file and the log file (`dir/server.log`)
 */
async function prepare(
  kind: ServerKind,
  dir: string,
  storage: StorageUnderTest,
  extra: string,
): Promise<{ port: number; space: ServerStorage; config: string; logFile: string }> {
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const space = await storage.space(kind, dir);
  const config = join(dir, 'config.yml');
  await writeFile(config, configYaml(port, space.driver, extra));
  return { port, space, config, logFile: join(dir, 'server.log') };
}

/**
 * Starts Wharf from the build (`dist/src/main.js`, run `npm run build` first) on its space in
 * `storage`, its configuration and its log (at `info`) in `dir`.
 * Node runs with the flags and the environment of the bin's `exec env NAME=value node ...`
 * line (under its `#!/bin/sh`), as `npx wharf serve` and `npm start` run it, then `nodeArgs` and `env`.
 * @param nodeArgs extra arguments for node after the bin's own (e.g. `--cpu-prof`; a V8 flag given again wins)
 * @param extra top-level configuration keys (YAML lines) after the shared ones (the proxy bench's `proxy:`)
 * @param slot the column it is measured in (`distribution` for the second Wharf of `--observability`)
 * @param env environment overrides (`WHARF_*` keys)
 */
export async function startWharf(
  repoRoot: string,
  dir: string,
  storage: StorageUnderTest,
  nodeArgs: string[] = [],
  extra = '',
  slot: ServerKind = 'wharf',
  env: Record<string, string> = {},
): Promise<ServerUnderTest> {
  const { port, space, config, logFile } = await prepare(slot, dir, storage, extra);
  const main = join(repoRoot, 'dist/src/main.js');
  const bin = readFileSync(main, 'utf8');
  const child = launch(process.execPath, [...shebangNodeFlags(bin), ...nodeArgs, main, 'serve', '--config', config], { ...space.env, ...shebangEnv(bin), ...env }, logFile);
  await waitReady(child, `http://127.0.0.1:${port}`, logFile);
  return running(slot, port, child, space);
}

/**
 * Starts CNCF Distribution (`docker-registry serve`) on its space in `storage`, deletes enabled, its
 * default `info` log (access log included) to `dir/server.log`, and no blob descriptor cache;
 * `extra`: top-level configuration keys (YAML lines), e.g. `proxy:` for Distribution's own pull-through cache.
 */
export async function startDistribution(dir: string, storage: StorageUnderTest, extra = ''): Promise<ServerUnderTest> {
  const { port, space, config, logFile } = await prepare('distribution', dir, storage, `catalog:\n  maxentries: 1000\n${extra}`);
  const child = launch('docker-registry', ['serve', config], space.env, logFile);
  await waitReady(child, `http://127.0.0.1:${port}`, logFile);
  return running('distribution', port, child, space);
}

/**
 * The CPU time process `pid` has used so far, user + system, in seconds (/proc/<pid>/stat, clock
 * ticks of 10 ms), or undefined when it is gone. Unlike a throughput, the CPU a piece of work costs
 * hardly changes when other processes compete for the cores.
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // the fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields ? (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS : undefined;
}

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** The resident set size of process `pid` in bytes (VmRSS), or undefined when it is gone. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kib = status ? /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] : undefined;
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/**
 * Samples process `pid`'s RSS every `everyMs` while `work` runs.
 * @returns what `work` returned and the peak RSS seen, in bytes
 */
export async function withPeakRss<T>(pid: number, work: () => Promise<T>, everyMs = 50): Promise<{ result: T; peakBytes: number }> {
  let peak = (await residentBytes(pid)) ?? 0;
  const timer = setInterval(() => {
    void residentBytes(pid).then((bytes) => {
      if (bytes !== undefined && bytes > peak) peak = bytes;
    });
  }, everyMs);
  try {
    const result = await work();
    const last = await residentBytes(pid);
    return { result, peakBytes: Math.max(peak, last ?? 0) };
  } finally {
    clearInterval(timer);
  }
}
