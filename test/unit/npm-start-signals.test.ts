/**
 * `npm start` (package.json's `start` script) stops the server when npm gets SIGTERM or SIGINT: npm
 * forwards the signal to the process its script runs, so the script `exec`s the server instead of
 * leaving `sh -c` between them (a non-interactive sh dies of SIGTERM and leaves the server serving,
 * reparented to init; it ignores a forwarded SIGINT, which then reaches nothing). Run here through
 * npm itself with the script's build step replaced by `true` and the server by a probe that carries
 * the bin's first lines and reports the signal it gets.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
/** The bin's first lines: `#!/bin/sh` and its `exec env ... node` line. */
const HEADER = readFileSync(join(ROOT, 'src/main.ts'), 'utf8').split('\n', 2).join('\n');
const dir = mkdtempSync(join(tmpdir(), 'wharf-npm-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the start script with npm, sends npm `signal` once the probe runs; the probe's report (`<signal> <exit code>`) or 'no signal'. */
async function stopWith(signal: NodeJS.Signals): Promise<string> {
  const report = join(dir, `${signal}.report`);
  const probe = join(dir, 'probe.js');
  writeFileSync(
    probe,
    `${HEADER}\nimport { writeFileSync } from 'node:fs';\nfor (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { writeFileSync(process.env.REPORT, s); process.exit(0); });\nprocess.stdout.write('up\\n');\nsetTimeout(() => process.exit(9), 15_000);\n`,
  );
  chmodSync(probe, 0o755);
  const script = START.replace('npm run build --silent', 'true').replace('dist/src/main.js serve', './probe.js');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', type: 'module', scripts: { start: script } }));
  const npm = spawn('npm', ['start', '--silent'], { cwd: dir, env: { ...process.env, REPORT: report }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  while (!out.includes('up') && npm.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
  npm.kill(signal);
  await exited;
  for (let i = 0; i < 100; i++) {
    try {
      return readFileSync(report, 'utf8');
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return 'no signal';
}

describe('npm start', () => {
  it('runs the build, then execs the server (no shell left between npm and it)', () => {
    expect(START).toMatch(/^npm run build --silent && exec dist\/src\/main\.js serve$/);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('a %s to npm reaches the server', async (signal) => {
    expect(await stopWith(signal)).toBe(signal);
  }, 30_000);
});
