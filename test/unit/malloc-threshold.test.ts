/**
 * The C library's mmap threshold `wharf` starts with (src/main.ts's first lines, docs/s3.md "Memory:
 * the C library's heap"): they set MALLOC_MMAP_THRESHOLD_ before node, a file starting with them run
 * as a command has it, the bench starts Wharf with it (shebangEnv), and with it glibc returns freed
 * 1 MiB buffers to the system where, without it, they stay resident once a freed one raised the threshold.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shebangEnv } from '../../bench/servers.js';

/** The lines that start node: `#!/bin/sh` and the shell's `exec env NAME=value node ...`. */
const shebang = readFileSync(join(import.meta.dirname, '../../src/main.ts'), 'utf8').split('\n', 2).join('\n');
const dir = mkdtempSync(join(tmpdir(), 'wharf-malloc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Frees a 1 MiB buffer (glibc's dynamic threshold then rises past 1 MiB), allocates 48 buffers of
 * 1 MiB with a 200 KiB one after each (which stays), frees the large ones; prints the MiB resident
 * before and after the free.
 */
const RETAIN = `
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const MiB = 1024 * 1024;
Buffer.allocUnsafeSlow(MiB); gc();
let large = []; const small = [];
for (let i = 0; i < 48; i++) { large.push(Buffer.allocUnsafeSlow(MiB).fill(1)); small.push(Buffer.allocUnsafeSlow(200 * 1024).fill(1)); }
const full = rss();
large = []; gc(); gc();
console.log(JSON.stringify({ full, after: rss(), small: small.length }));
`;

/** MiB given back to the system when the 48 MiB of large buffers are freed, in a node with environment `extra`. */
function returnedMiB(extra: Record<string, string>): number {
  const env = { ...process.env, ...extra };
  if (!('MALLOC_MMAP_THRESHOLD_' in extra)) delete env.MALLOC_MMAP_THRESHOLD_;
  const run = spawnSync(process.execPath, ['--expose-gc', '-e', RETAIN], { encoding: 'utf8', env, timeout: 20_000 });
  expect(run.status, run.stderr).toBe(0);
  const { full, after } = JSON.parse(run.stdout) as { full: number; after: number };
  return full - after;
}

describe('the server’s mmap threshold', () => {
  it('is set to 128 KiB by the first lines, before node', () => {
    expect(shebang).toMatch(/^#!\/bin\/sh\n.*; exec env (\S+=\S+ )*node /);
    expect(shebangEnv(`${shebang}\n`)).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072' });
  });

  it('reaches the process when a file with that line is run as a command', () => {
    const script = join(dir, 'probe.js');
    writeFileSync(script, `${shebang}\nprocess.stdout.write(String(process.env.MALLOC_MMAP_THRESHOLD_));\n`);
    chmodSync(script, 0o755);
    expect(execFileSync(script, { encoding: 'utf8', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '' } })).toBe('131072');
  });

  it('returns freed 1 MiB buffers to the system, which stay resident without it', () => {
    expect(returnedMiB(shebangEnv(`${shebang}\n`))).toBeGreaterThan(36);
    expect(returnedMiB({})).toBeLessThan(12);
  });

  it('shebangEnv reads the assignments before node, and none from a line without them', () => {
    expect(shebangEnv('#!/usr/bin/env -S A=1 B_2=x=y node --a\n')).toEqual({ A: '1', B_2: 'x=y' });
    expect(shebangEnv('#!/usr/bin/env -S node --a=1\n')).toEqual({});
    expect(shebangEnv(`#!/bin/sh\n':'; // 2>/dev/null; exec env A=1 node --a "$0" "$@"\n`)).toEqual({ A: '1' });
    expect(shebangEnv(`#!/bin/sh\n':'; // 2>/dev/null; exec node --a "$0" "$@"\n`)).toEqual({});
    expect(shebangEnv('#!/usr/bin/env node\n')).toEqual({});
    expect(shebangEnv('console.log(1)')).toEqual({});
  });
});
