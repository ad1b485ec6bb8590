/**
 * `wharf login` without a usable password says which source was empty: `--password-stdin read an
 * empty password` (not "pass it with --password-stdin", which was given), `--password is empty`.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { login } from '../../src/cli/login.js';

afterEach(() => void vi.restoreAllMocks());

async function failureOf(run: () => Promise<unknown>): Promise<string | undefined> {
  return run().then(() => undefined, (err: Error) => err.message);
}

describe('wharf login with an empty password', () => {
  it('--password-stdin with an empty line on stdin names --password-stdin', async () => {
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([Buffer.from('\n')]) as unknown as typeof process.stdin);
    expect(await failureOf(() => login('localhost:5000', { username: 'alice', passwordStdin: true }))).toBe(
      '--password-stdin read an empty password: pipe the password in, e.g. echo "$PASSWORD" | wharf login ...',
    );
  });

  it('--password "" names --password', async () => {
    expect(await failureOf(() => login('localhost:5000', { username: 'alice', password: '' }))).toBe('--password is empty: give the password, or pipe it in with --password-stdin');
  });
});
