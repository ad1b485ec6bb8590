/**
 * Helpers for the end-to-end suite: run real programs (docker, skopeo, tar) with useful failure
 * messages, find free ports, and start the real `wharf serve` process on a fresh storage directory.
 *
 * This module has no runtime dependency on vitest, so `global-setup.ts` (which runs in vitest's main
 * process) can use it too. What tests get from the global setup (the Docker daemon's address) is
 * read with vitest's `inject` in `docker-env.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, rmSync, writeFileSync } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The base image the global setup imports from Debian's static busybox; e2e images build FROM it. */
export const BASE_IMAGE = 'wharf-e2e-base:latest';

/** The built server entry point that `startWharf` runs (`npm run build` writes it). */
export const WHARF_MAIN = join(REPO_ROOT, 'dist/src/main.js');

/** Options for {@link run}. */
export interface RunOptions {
  /** The complete environment of the child (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the child. */
  cwd?: string;
  /** Kill the child (SIGKILL) and fail after this many milliseconds (default 120 s). */
  timeoutMs?: number;
  /** Bytes written to the child's stdin (stdin is closed either way). */
  input?: string | Uint8Array;
  /** Resolve instead of rejecting when the child exits non-zero (the result carries the code). */
  allowFailure?: boolean;
}

/** What a finished child process produced. */
export interface RunResult {
  /** The command line, for messages. */
  command: string;
  /** Exit code; null when the child was ended by a signal. */
  code: number | null;
  /** The signal that ended the child, if any. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order (what a user would have seen). */
  output: string;
}

/** A child process that failed; the message holds the command line, the exit status, stdout and stderr. */
export class RunError extends Error {
  override readonly name = 'RunError';
  constructor(
    message: string,
    /** The child's result (stdout, stderr, code); absent when it could not be started at all. */
    readonly result?: RunResult,
  ) {
    super(message);
  }
}

/** Quotes an argument for display only (the child is never run through a shell). */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Formats a command line for messages. */
export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(shellQuote).join(' ');
}

/** Indents captured output for an error message, keeping at most `max` characters from its end. */
function block(label: string, text: string, max = 20_000): string {
  const trimmed = text.length > max ? `[... ${text.length - max} characters cut ...]\n${text.slice(-max)}` : text;
  return `--- ${label} ---\n${trimmed.trimEnd() || '(empty)'}`;
}

/**
 * Runs a program without a shell and collects its output.
 * @returns stdout, stderr and the exit status
 * @throws RunError when the program cannot be started, times out, or (unless `allowFailure`) exits
 *   non-zero; the message includes the command line, the exit status, stdout and stderr
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = commandLine(cmd, args);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const both: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => (out.push(b), both.push(b)));
    child.stderr.on('data', (b: Buffer) => (err.push(b), both.push(b)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = e.code === 'ENOENT' ? ` (${cmd} is not installed or not on PATH)` : '';
      reject(new RunError(`cannot run ${command}: ${e.message}${hint}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        command,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        output: Buffer.concat(both).toString('utf8'),
      };
      if (timedOut) {
        reject(new RunError(`${command} timed out after ${timeoutMs} ms\n${block('stdout', result.stdout)}\n${block('stderr', result.stderr)}`, result));
      } else if (code !== 0 && !opts.allowFailure) {
        const status = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new RunError(`${command} ${status}\n${block('stdout', result.stdout)}\n${block('stderr', result.stderr)}`, result));
      } else {
        resolvePromise(result);
      }
    });
    child.stdin.on('error', () => {
      /* the child may exit without reading its input; its exit status tells what happened */
    });
    child.stdin.end(opts.input);
  });
}

/**
 * Finds a TCP port on 127.0.0.1 that is free right now (the OS picks it; the port is released
 * before returning, so another process could take it, which is unlikely within the next moments).
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address ${JSON.stringify(address)}`));
        return;
      }
      server.close(() => resolvePromise(address.port));
    });
  });
}

/**
 * Polls `probe` until it returns true or the deadline passes; never sleeps a fixed time to wait.
 * @param what a description for the timeout message
 * @param probe returns (or resolves to) true when the awaited condition holds; may throw (counts as false)
 * @param opts `timeoutMs` (default 30 s), `intervalMs` between probes (default 100 ms), `failFast`: a
 *   check run before every probe that throws to stop waiting early (e.g. "the process already exited")
 * @throws Error after the deadline, naming `what` and the last probe error
 */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; failFast?: () => void } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    opts.failFast?.();
    try {
      if (await probe()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: last attempt failed with ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Finds an executable on PATH.
 * @returns its absolute path, or undefined when it is not installed
 */
export async function which(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      /* not in this directory */
    }
  }
  return undefined;
}

/** An external program the suite needs, and the Debian package that provides it. */
export interface Tool {
  /** A command name looked up on PATH, or an absolute path. */
  name: string;
  /** The Debian package to install when it is missing. */
  debianPackage: string;
}

/** The programs the e2e suite runs. */
export const TOOLS = {
  docker: { name: 'docker', debianPackage: 'docker.io' },
  dockerd: { name: 'dockerd', debianPackage: 'docker.io' },
  skopeo: { name: 'skopeo', debianPackage: 'skopeo' },
  podman: { name: 'podman', debianPackage: 'podman' },
  busybox: { name: '/bin/busybox', debianPackage: 'busybox-static' },
  tar: { name: 'tar', debianPackage: 'tar' },
  curl: { name: 'curl', debianPackage: 'curl' },
  containerd: { name: 'containerd', debianPackage: 'containerd' },
  ctr: { name: 'ctr', debianPackage: 'containerd' },
  distribution: { name: 'docker-registry', debianPackage: 'docker-registry' },
} satisfies Record<string, Tool>;

/**
 * Checks that tools are installed.
 * @returns one message per missing tool, naming the Debian package to install (empty when all are there)
 */
export async function missingTools(tools: readonly Tool[]): Promise<string[]> {
  const problems: string[] = [];
  for (const tool of tools) {
    let found: string | undefined;
    if (tool.name.startsWith('/')) {
      found = await access(tool.name, fsConstants.X_OK).then(
        () => tool.name,
        () => undefined,
      );
    } else {
      found = await which(tool.name);
    }
    if (!found) {
      problems.push(
        `${tool.name} is not installed: the e2e suite needs it. Install the Debian package ${tool.debianPackage} ` +
          `(apt-get install -y ${tool.debianPackage}); .ci/run does this.`,
      );
    }
  }
  return problems;
}

/**
 * Fails (never skips) when any of the tools is missing.
 * @throws Error naming every missing tool and its Debian package
 */
export async function requireTools(...tools: Tool[]): Promise<void> {
  const problems = await missingTools(tools);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/**
 * Makes a fresh temporary directory (removed by {@link removeDir}).
 * @param prefix the start of its name under the OS temp directory
 */
export function tempDir(prefix = 'wharf-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a directory tree, ignoring that it is already gone. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Returns a function that runs `fn` the first time it is called and hands every caller the same
 * promise. Tests use it for shared, lazily built fixtures: when the fixture fails, every test that
 * needs it fails with the same error (a failing `beforeAll` would only mark them skipped).
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}

/** Options for {@link startWharf}. */
export interface StartWharfOptions {
  /** The storage root directory; default: a fresh temporary directory, removed by `dispose()`. */
  root?: string;
  /** The port to listen on; default: a free one. */
  port?: number;
  /** Extra environment for the server (`WHARF_*` configuration overrides, e.g. `WHARF_STORAGE_DELETE_ENABLED`). */
  env?: Record<string, string>;
  /** A configuration file passed as `--config`. */
  configFile?: string;
  /**
   * `WHARF_STORAGE_*` variables that configure the storage instead of the filesystem root, e.g.
   * `WHARF_STORAGE_S3_BUCKET` for S3 (`root` is then only a scratch directory).
   */
  storageEnv?: Record<string, string>;
  /** How long to wait for `/v2/` to answer 200 (default 30 s). */
  readyTimeoutMs?: number;
  /** What to poll instead of `GET <url>/v2/` (e.g. the debug listener's `/livez` of a TLS server): answers 200 when ready. */
  readyUrl?: string;
  /** The address to listen on (default 127.0.0.1; `[::1]` for the IPv6 loopback). */
  listenHost?: string;
}

/** A running `wharf serve` process. */
export interface WharfServer {
  /** Base URL, e.g. `http://127.0.0.1:5123` (no trailing slash). */
  readonly url: string;
  /** `127.0.0.1:<port>`, the registry host in image references. */
  readonly host: string;
  /** The port it listens on. */
  readonly port: number;
  /** The storage root directory. */
  readonly root: string;
  /** The server's process id (changes on restart). */
  readonly pid: number;
  /** Everything the server wrote to stdout and stderr so far (its JSON log lines), newest last. */
  logs(): string;
  /**
   * Stops the server with a signal and waits for the process to exit (SIGKILL after 10 s).
   * @returns how it exited
   */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops the server (SIGTERM unless given) and starts it again on the same port and storage root. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server and removes the storage root if `startWharf` created it. */
  dispose(): Promise<void>;
}

/**
 * The environment variable (set by the global setup, inherited by vitest's workers) naming a
 * directory where {@link startWharf} records the pid of every server it starts, so that the global
 * teardown can kill servers a worker left behind (e.g. when the worker itself was killed).
 */
export const PID_DIR_ENV = 'E2E_WHARF_PIDS_DIR';

/** The environment without `WHARF_*` variables (the server would read them as configuration overrides). */
function withoutWharfVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('WHARF_')));
}

/** Servers started by this process, killed if the worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Keeps the last `max` characters of a process's output. */
class OutputTail {
  private text = '';
  constructor(private readonly max = 256 * 1024) {}
  add(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    if (this.text.length > this.max) this.text = this.text.slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/**
 * The server process to start. `E2E_REFERENCE=distribution` runs CNCF Distribution
 * (`docker-registry`, Debian package docker-registry) instead of Wharf with the same storage root,
 * to tell a Wharf bug from a test bug.
 */
async function serverCommand(
  port: number,
  root: string,
  opts: StartWharfOptions,
): Promise<{ cmd: string; args: string[]; env: NodeJS.ProcessEnv; name: string }> {
  if (process.env.E2E_REFERENCE === 'distribution') {
    const config = join(root, '..', `distribution-${port}.yml`);
    await writeFile(
      config,
      [
        'version: 0.1',
        'log: {level: warn}',
        `storage: {filesystem: {rootdirectory: ${JSON.stringify(root)}}, delete: {enabled: true}}`,
        `http: {addr: "127.0.0.1:${port}", secret: "wharf-e2e-reference"}`,
        '',
      ].join('\n'),
    );
    return { cmd: 'docker-registry', args: ['serve', config], env: withoutWharfVariables(process.env), name: 'docker-registry' };
  }
  try {
    await access(WHARF_MAIN);
  } catch {
    throw new Error(`${WHARF_MAIN} does not exist: run \`npm run build\` first (\`npm run test:e2e\` does)`);
  }
  const args = [WHARF_MAIN, 'serve'];
  if (opts.configFile) args.push('--config', opts.configFile);
  return {
    cmd: process.execPath,
    args,
    name: 'wharf serve',
    env: {
      ...withoutWharfVariables(process.env),
      WHARF_LOG_LEVEL: 'warn',
      ...opts.env,
      WHARF_HTTP_ADDR: `${opts.listenHost ?? '127.0.0.1'}:${port}`,
      ...(opts.storageEnv ?? { WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY: root }),
    },
  };
}

/**
 * Starts the real server (`node dist/src/main.js serve`) on 127.0.0.1 and a free port with a
 * fresh filesystem storage root, and waits (polling `GET /v2/` with a deadline) until it answers 200
 * (or 401: a configuration with an `auth` section challenges even `GET /v2/`).
 * @throws Error with the server's output when it exits early or is not ready in time
 */
export async function startWharf(opts: StartWharfOptions = {}): Promise<WharfServer> {
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? join(await tempDir('wharf-e2e-srv-'), 'storage');
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const output = new OutputTail();
  let child: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  const launch = async (): Promise<void> => {
    const { cmd, args, env, name } = await serverCommand(port, root, opts);
    const proc = spawn(cmd, args, { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exitStatus = undefined;
    live.add(proc);
    const pidDir = process.env[PID_DIR_ENV];
    const pidFile = pidDir && proc.pid ? join(pidDir, String(proc.pid)) : undefined;
    if (pidFile) writeFileSync(pidFile, commandLine(cmd, args));
    proc.stdout?.on('data', (b: Buffer) => output.add(b));
    proc.stderr?.on('data', (b: Buffer) => output.add(b));
    exited = new Promise((resolveExit) => {
      proc.on('error', (e) => {
        output.add(Buffer.from(`[e2e] cannot start ${name}: ${e.message}\n`));
        live.delete(proc);
        exitStatus = { code: null, signal: null };
        resolveExit(exitStatus);
      });
      proc.on('exit', (code, signal) => {
        live.delete(proc);
        if (pidFile) rmSync(pidFile, { force: true });
        exitStatus = { code, signal };
        resolveExit(exitStatus);
      });
    });
    try {
      const readyUrl = opts.readyUrl ?? `${url}/v2/`;
      await waitFor(
        `${name} to answer GET ${readyUrl} with 200 (401 with authentication on)`,
        async () => [200, 401].includes((await fetch(readyUrl, { signal: AbortSignal.timeout(2_000) })).status),
        {
          timeoutMs: opts.readyTimeoutMs ?? 30_000,
          intervalMs: 50,
          failFast: () => {
            if (exitStatus) throw new Error(`${name} exited before it was ready (code ${exitStatus.code}, signal ${exitStatus.signal})`);
          },
        },
      );
    } catch (e) {
      if (!exitStatus) {
        proc.kill('SIGKILL');
        await exited;
      }
      throw new Error(
        `${(e as Error).message}\n${commandLine(cmd, args)} with storage root ${root}\n${block('server output', output.toString())}`,
      );
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const proc = child;
    if (!proc || exitStatus) return exitStatus ?? { code: null, signal: null };
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  await launch();
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    root,
    get pid() {
      return child?.pid ?? -1;
    },
    logs: () => output.toString(),
    stop,
    async restart(signal?: NodeJS.Signals) {
      await stop(signal);
      output.add(Buffer.from(`[e2e] ---- restarted after ${signal ?? 'SIGTERM'} ----\n`));
      await launch();
    },
    async dispose() {
      await stop();
      if (ownRoot) await removeDir(dirname(root));
    },
  };
}
