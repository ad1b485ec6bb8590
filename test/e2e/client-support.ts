/**
 * What the `wharf` client's e2e suites share: the CLI run as a user runs it (`node dist/src/main.js`
 * with a private DOCKER_CONFIG), CNCF Distribution (`docker-registry serve`) started on a free
 * port, Wharf with token authentication (an htpasswd made by Apache's `htpasswd -B`), and a
 * `docker-credential-test` helper script that keeps credentials in files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, removeDir, requireTools, run, startWharf, tempDir, waitFor, WHARF_MAIN, type RunOptions, type RunResult, type Tool, type WharfServer } from './helpers.js';

/** Debian's CNCF Distribution 2.8.2. */
export const DISTRIBUTION: Tool = { name: 'docker-registry', debianPackage: 'docker-registry' };
/** Apache's htpasswd. */
export const HTPASSWD: Tool = { name: 'htpasswd', debianPackage: 'apache2-utils' };
/** The token-auth Wharf's user. */
export const ALICE = { user: 'alice', password: 'alice-client-e2e' };

/**
 * Runs the `wharf` CLI with `env` (DOCKER_CONFIG and PATH for credential helpers).
 * @returns the result; failures resolve too (check `code`) when `allowFailure`
 */
export function wharf(args: string[], env: NodeJS.ProcessEnv, opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [WHARF_MAIN, ...args], { timeoutMs: 600_000, ...opts, env: { ...process.env, ...env } });
}

/** A registry under test: where it is, how to stop it, its log. */
export interface E2eRegistry {
  name: string;
  host: string;
  url: string;
  /** credentials it needs for pushes, if any */
  login?: { user: string; password: string };
  logs(): string;
  stop(): Promise<void>;
}

/** Starts CNCF Distribution 2.8.2 on a free port with filesystem storage (deletes enabled). */
export async function startDistribution(): Promise<E2eRegistry> {
  await requireTools(DISTRIBUTION);
  const dir = await tempDir('wharf-e2e-dist-');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: info, accesslog: {disabled: false}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}", secret: "wharf-client-e2e"}`,
      '',
    ].join('\n'),
  );
  let output = '';
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('docker-registry to answer /v2/', async () => (await fetch(`${url}/v2/`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000 });
  return {
    name: 'distribution',
    host: `127.0.0.1:${port}`,
    url,
    logs: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await removeDir(dir);
    },
  };
}

/** Wraps a started Wharf as an {@link E2eRegistry}. */
export function wharfRegistry(server: WharfServer, name = 'wharf', login?: { user: string; password: string }): E2eRegistry {
  return { name, host: server.host, url: server.url, login, logs: () => server.logs(), stop: () => server.dispose() };
}

/** Starts Wharf with its token server: alice may do anything under `alice/`; anonymous users nothing. */
export async function startTokenWharf(): Promise<{ server: WharfServer; registry: E2eRegistry }> {
  await requireTools(HTPASSWD);
  const dir = await tempDir('wharf-e2e-token-');
  const htpasswd = join(dir, 'htpasswd');
  await run('htpasswd', ['-B', '-c', '-b', htpasswd, ALICE.user, ALICE.password]);
  const configFile = join(dir, 'config.yml');
  await writeFile(
    configFile,
    [
      'auth:',
      '  token: {service: wharf-client-e2e, issuer: wharf-client-e2e, expiration: 300}',
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      '  acl:',
      '    - {account: authenticated, name: "${account}/*", actions: ["*"]}',
      '',
    ].join('\n'),
  );
  const server = await startWharf({ configFile, env: { WHARF_LOG_LEVEL: 'info' } });
  const registry = wharfRegistry(server, 'wharf-token', ALICE);
  return {
    server,
    registry: {
      ...registry,
      stop: async () => {
        await server.dispose();
        await removeDir(dir);
      },
    },
  };
}

/**
 * Writes `docker-credential-test` into `binDir`: `store` keeps the JSON it reads in `<store>/<host>`,
 * `get` prints it (or "credentials not found" with exit 1), `erase` removes it, `list` prints `{}`.
 * Every call is appended to `<store>/calls.log`.
 */
export async function writeCredentialHelper(binDir: string, store: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  await mkdir(store, { recursive: true });
  const script = `#!/bin/sh
set -e
STORE=${JSON.stringify(store)}
echo "$1" >> "$STORE/calls.log"
input=$(cat)
case "$1" in
  store)
    url=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p')
    key=$(printf '%s' "$url" | tr '/:' '__')
    printf '%s' "$input" > "$STORE/$key" ;;
  get)
    key=$(printf '%s' "$input" | tr '/:' '__')
    if [ -f "$STORE/$key" ]; then cat "$STORE/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase)
    key=$(printf '%s' "$input" | tr '/:' '__')
    rm -f "$STORE/$key" ;;
  list) echo '{}' ;;
esac
`;
  const file = join(binDir, 'docker-credential-test');
  await writeFile(file, script);
  await chmod(file, 0o755);
}
