/**
 * `wharf` starts node with `--no-allocation-site-pretenuring` (src/main.ts's `#!` line,
 * docs/performance.md "Two GC modes per process"): V8 then never allocates a literal's objects
 * straight in the old generation. A script whose literal's objects all survive scavenges makes V8
 * decide to pretenure them (`--trace-pretenuring-statistics` prints each site's decision) under node's defaults, and
 * makes no decision under the `#!` line's flags, as the bench passes them (shebangNodeFlags).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../bench/servers.js';

const flags = shebangNodeFlags(readFileSync(join(import.meta.dirname, '../../src/main.ts'), 'utf8'));

/** Arrays from one literal, kept by the hundred thousand (they survive scavenges), dropped, 20 times. */
const SURVIVORS = `
let kept = [];
for (let round = 0; round < 20; round++) {
  for (let i = 0; i < 200000; i++) kept.push([i, i]);
  kept = [];
}
`;

/** The pretenuring trace lines of the script run by a node with `args`. */
function pretenuringTrace(args: string[]): string[] {
  const run = spawnSync(process.execPath, [...args, '--trace-pretenuring', '--trace-pretenuring-statistics', '-e', SURVIVORS], { encoding: 'utf8', timeout: 30_000 });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\n').filter((line) => line.includes('pretenuring:'));
}

describe('the server’s V8 pretenuring', () => {
  it('is off by the #! line', () => {
    expect(flags).toContain('--no-allocation-site-pretenuring');
  });

  it('decides to pretenure surviving objects under node’s defaults, and makes no decision under the #! line’s flags', () => {
    expect(pretenuringTrace(['--max-semi-space-size=2']).some((line) => line.includes('=> tenure'))).toBe(true);
    expect(pretenuringTrace(flags)).toEqual([]);
  });
});
