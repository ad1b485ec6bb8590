/**
 * Usage mistakes print one line (`wharf push: unknown option --jbos (did you mean --jobs?); see
 * wharf push --help`), not commander's error followed by the whole help; `wharf` alone still prints
 * its help.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { wharfProgram } from '../../src/cli/program.js';

/** Parses `args` with the real program, every command's exit thrown and its stderr captured. */
async function usage(args: string[]): Promise<{ stderr: string; exitCode: number | undefined }> {
  const program = wharfProgram();
  let stderr = '';
  const capture = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: (s) => void (stderr += s), writeOut: (s) => void (stderr += s) });
    cmd.commands.forEach(capture);
  };
  capture(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { stderr, exitCode: undefined };
  } catch (err) {
    return { stderr, exitCode: (err as { exitCode?: number }).exitCode };
  }
}

describe('usage errors', () => {
  it('a misspelt option is one line with the suggestion and where the help is', async () => {
    expect(await usage(['push', '--jbos', '4', 'app.tar', 'localhost:5000/team/app:1'])).toEqual({
      stderr: 'wharf push: unknown option --jbos (did you mean --jobs?); see wharf push --help\n',
      exitCode: 1,
    });
  });

  it('a misspelt command is one line with the suggestion', async () => {
    expect(await usage(['pul', 'localhost:5000/team/app:1', 'out'])).toEqual({
      stderr: 'wharf: unknown command pul (did you mean pull?); see wharf --help\n',
      exitCode: 1,
    });
  });

  it('a missing argument of a nested command is one line naming the whole command', async () => {
    expect(await usage(['pull', 'localhost:5000/team/app:1'])).toEqual({ stderr: 'wharf pull: missing required argument dest; see wharf pull --help\n', exitCode: 1 });
    expect(await usage(['blob', 'get'])).toEqual({ stderr: 'wharf blob get: missing required argument ref; see wharf blob get --help\n', exitCode: 1 });
  });

  it('an option without its value is one line', async () => {
    expect(await usage(['push', 'app.tar', 'localhost:5000/team/app:1', '--jobs'])).toEqual({
      stderr: 'wharf push: option -j, --jobs <n> argument missing; see wharf push --help\n',
      exitCode: 1,
    });
  });

  it('wharf alone still prints its help', async () => {
    const r = await usage([]);
    expect(r.stderr).toContain('Usage: wharf [options] [command]');
    expect(r.stderr.split('\n').length).toBeGreaterThan(10);
  });
});
