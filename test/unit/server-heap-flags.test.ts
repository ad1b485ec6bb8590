/**
 * The V8 flags `wharf serve` runs with (src/main.ts's shebang, docs/performance.md "Full collections
 * on the byte path"): the shebang really starts node with them, `npm start` passes the same ones, and
 * the benches read them from the built file (`shebangNodeFlags`), so a measured server runs as a
 * user's does.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../bench/servers.js';

const root = join(import.meta.dirname, '../..');
const shebang = readFileSync(join(root, 'src/main.ts'), 'utf8').split('\n', 1)[0]!;
const dir = mkdtempSync(join(tmpdir(), 'wharf-shebang-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the server process flags', () => {
  it('sets an old-generation floor of at least 128 MiB in the shebang, through env -S', async () => {
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node /);
    const main = join(dir, 'main.js');
    writeFileSync(main, `${shebang}\n`);
    const flags = await shebangNodeFlags(main);
    const floor = flags.map((f) => /^--initial-old-space-size=(\d+)$/.exec(f)?.[1]).find(Boolean);
    expect(Number(floor)).toBeGreaterThanOrEqual(128);
  });

  it('starts node with those flags when the file is run as a command', async () => {
    const script = join(dir, 'probe.js');
    writeFileSync(script, `${shebang}\nprocess.stdout.write(JSON.stringify(process.execArgv));\n`);
    chmodSync(script, 0o755);
    const execArgv = JSON.parse(execFileSync(script, { encoding: 'utf8' })) as string[];
    expect(execArgv).toEqual(await shebangNodeFlags(script));
  });

  it('passes the same flags in npm start', async () => {
    const main = join(dir, 'main.js');
    writeFileSync(main, `${shebang}\n`);
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start).toContain(`node ${(await shebangNodeFlags(main)).join(' ')} dist/src/main.js serve`);
  });

  it('reads no flags from a plain node shebang or a file without one', async () => {
    const plain = join(dir, 'plain.js');
    writeFileSync(plain, '#!/usr/bin/env node\nconsole.log(1);\n');
    expect(await shebangNodeFlags(plain)).toEqual([]);
    writeFileSync(plain, 'console.log(1);\n');
    expect(await shebangNodeFlags(plain)).toEqual([]);
  });
});
