/**
 * The `wharf` bin starts on a POSIX system whose `env` has no `-S` (BusyBox, as on node:20-alpine):
 * its first lines are `#!/bin/sh` and a line that is both a shell command (`exec env NAME=value node
 * <flags> "$0" "$@"`) and a JS directive and comment. Run here through BusyBox's `sh` with BusyBox's
 * `env` first on PATH: node gets the flags and the environment, is the process that was started (the
 * shell `exec`s it: same pid, signals reach node), and its exit code is the command's. The former
 * `#!/usr/bin/env -S ...` line, as the kernel hands it to BusyBox's `env`, fails there.
 * Needs Debian's busybox-static (/bin/busybox): with `CI=true` a missing one fails, never skips.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shebangEnv, shebangNodeFlags } from '../../bench/servers.js';

const BUSYBOX = '/bin/busybox';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const MAIN = join(import.meta.dirname, '../../src/main.ts');
/** The lines that start node: `#!/bin/sh` and the shell's `exec env ... node <flags> "$0" "$@"`. */
const HEADER = readFileSync(MAIN, 'utf8').split('\n', 2).join('\n');
const dir = mkdtempSync(join(tmpdir(), 'wharf-posix-sh-'));
/** PATH with BusyBox's `env` and `sh` first, then the directory of the node running the tests. */
const PATH = `${join(dir, 'bin')}:${dirname(process.execPath)}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `dir/name`: the bin's first lines followed by `body` (JavaScript). */
function probe(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${HEADER}\n${body}\n`);
  return file;
}

/** Runs `file` with BusyBox's sh, BusyBox's env on PATH; the result of spawnSync. */
function busyboxSh(file: string, args: string[] = []) {
  return spawnSync(BUSYBOX, ['sh', file, ...args], { encoding: 'utf8', env: { PATH, HOME: dir }, timeout: 20_000 });
}

describe('the bin’s first lines', () => {
  it('are the ones docs/development.md shows', () => {
    expect(readFileSync(join(import.meta.dirname, '../../docs/development.md'), 'utf8')).toContain(`\`\`\`\n${HEADER}\n\`\`\``);
  });
});

describe.skipIf(!existsSync(BUSYBOX) && !CI)('the bin under a shell whose env has no -S (BusyBox)', () => {
  beforeAll(() => {
    if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install -y busybox-static`);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const applet of ['env', 'sh']) symlinkSync(BUSYBOX, join(bin, applet));
  });

  it('BusyBox env rejects -S, so the former `#!/usr/bin/env -S` line cannot start there', () => {
    const formerLine = `-S ${Object.entries(shebangEnv(HEADER)).map(([k, v]) => `${k}=${v}`).join(' ')} node ${shebangNodeFlags(HEADER).join(' ')}`;
    const run = spawnSync(join(dir, 'bin/env'), [formerLine, probe('former.js', 'process.exit(0);')], { encoding: 'utf8', env: { PATH } });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/invalid option -- 'S'/);
  });

  it('starts node with the flags and the environment of the exec line', () => {
    const run = busyboxSh(probe('flags.js', 'process.stdout.write(JSON.stringify({ argv: process.execArgv, env: process.env.MALLOC_MMAP_THRESHOLD_, args: process.argv.slice(2) }));'), ['a b', '--c']);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ argv: shebangNodeFlags(HEADER), env: shebangEnv(HEADER).MALLOC_MMAP_THRESHOLD_, args: ['a b', '--c'] });
    expect(shebangNodeFlags(HEADER)).toContain('--max-semi-space-size=2');
  });

  it('passes node’s exit code through', () => {
    expect(busyboxSh(probe('exit.js', 'process.exit(7);')).status).toBe(7);
  });

  it('execs node in the started process: same pid, and SIGTERM reaches node’s handler', async () => {
    const file = probe('signal.js', "process.on('SIGTERM', () => { process.stdout.write('term'); process.exit(3); }); process.stdout.write(`${process.pid}\\n`); setInterval(() => {}, 1000);");
    const child = spawn(BUSYBOX, ['sh', file], { env: { PATH, HOME: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    while (!out.includes('\n') && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Number(out.split('\n')[0])).toBe(child.pid);
    child.kill('SIGTERM');
    expect(await exited).toBe(3);
    expect(out.split('\n')[1]).toBe('term');
  });
});
