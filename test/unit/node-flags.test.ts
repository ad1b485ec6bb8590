/**
 * The `wharf` bin starts node with a capped young generation (`--max-semi-space-size` on the `exec env ... node`
 * line under its `#!/bin/sh`, docs/s3.md "Memory"): the line parses as the shell reads it, node accepts the flag, the new space
 * stays within two semi-spaces under allocation churn (and grows past them without the flag), and the
 * bench starts Wharf with the same flags (bench/servers.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../bench/servers.js';

const MAIN = join(import.meta.dirname, '../../src/main.ts');
/** Allocates short-lived objects, then prints the largest new space (MiB) seen. */
const CHURN = `
const v8 = require('node:v8');
let peak = 0, keep = [];
for (let i = 0; i < 400; i++) {
  for (let j = 0; j < 2000; j++) keep.push({ i, j, s: 'x'.repeat(64) });
  if (keep.length > 20000) keep = [];
  peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
}
console.log(peak / 1048576);
`;

function newSpacePeakMiB(flags: string[]): number {
  const run = spawnSync(process.execPath, [...flags, '-e', CHURN], { encoding: 'utf8', timeout: 20_000 });
  expect(run.status, run.stderr).toBe(0);
  return Number(run.stdout.trim());
}

describe('the bin’s node flags', () => {
  it('src/main.ts starts node through `/bin/sh` and `exec env` with --max-semi-space-size', () => {
    const flags = shebangNodeFlags(readFileSync(MAIN, 'utf8'));
    const [first, second] = readFileSync(MAIN, 'utf8').split('\n', 2);
    expect(first).toBe('#!/bin/sh');
    expect(second).toMatch(/^':'; \/\/ 2>\/dev\/null; exec env (\S+=\S+ )*node .* "\$0" "\$@"$/);
    expect(flags.filter((f) => /^--max-semi-space-size=\d+$/.test(f))).toHaveLength(1);
  });

  it('the new space stays within two semi-spaces with the flag, and grows past that without it', () => {
    const flags = shebangNodeFlags(readFileSync(MAIN, 'utf8'));
    const semi = Number(flags.find((f) => f.startsWith('--max-semi-space-size='))!.split('=')[1]);
    expect(newSpacePeakMiB(flags)).toBeLessThanOrEqual(2 * semi);
    expect(newSpacePeakMiB([])).toBeGreaterThan(2 * semi);
  });

  it('shebangNodeFlags reads the flags after node, and none from a plain line', () => {
    expect(shebangNodeFlags(`#!/bin/sh\n':'; // 2>/dev/null; exec env A=1 node --a=1 --b "$0" "$@"\nrest`)).toEqual(['--a=1', '--b']);
    expect(shebangNodeFlags('#!/bin/sh\necho node --a\n')).toEqual([]);
    expect(shebangNodeFlags('#!/usr/bin/env -S node --a=1 --b\nrest')).toEqual(['--a=1', '--b']);
    expect(shebangNodeFlags('#!/usr/bin/env node\n')).toEqual([]);
    expect(shebangNodeFlags('#!/usr/local/bin/node --x\n')).toEqual(['--x']);
    expect(shebangNodeFlags('console.log(1)')).toEqual([]);
  });
});
