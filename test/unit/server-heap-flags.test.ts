/**
 * The old-generation floor `wharf serve` runs with (src/main.ts's first lines, docs/performance.md "Full
 * collections on the byte path"): they set `--initial-old-space-size` of at least 48 MiB (the
 * floor measured, docs/performance.md; lower ones are not), and
 * a file starting with them, run as a command, really starts node with their flags (`/bin/sh`, `exec env`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../bench/servers.js';

/** The lines that start node: `#!/bin/sh` and the shell's `exec env ... node <flags>`. */
const shebang = readFileSync(join(import.meta.dirname, '../../src/main.ts'), 'utf8').split('\n', 2).join('\n');
const dir = mkdtempSync(join(tmpdir(), 'wharf-shebang-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the server’s old-generation floor', () => {
  it('is at least 48 MiB on the node command line', () => {
    const floor = shebangNodeFlags(`${shebang}\n`)
      .map((f) => /^--initial-old-space-size=(\d+)$/.exec(f)?.[1])
      .find(Boolean);
    expect(Number(floor)).toBeGreaterThanOrEqual(48);
  });

  it('reaches node when a file starting with those lines is run as a command', () => {
    const script = join(dir, 'probe.js');
    writeFileSync(script, `${shebang}\nprocess.stdout.write(JSON.stringify(process.execArgv));\n`);
    chmodSync(script, 0o755);
    const execArgv = JSON.parse(execFileSync(script, { encoding: 'utf8' })) as string[];
    expect(execArgv).toEqual(shebangNodeFlags(`${shebang}\n`));
  });
});
