/**
 * Docker credential helpers (`docker-credential-<name>` on the PATH; docker/docker-credential-helpers
 * protocol): `get` reads a server URL on stdin and prints `{"ServerURL","Username","Secret"}`,
 * `store` reads that JSON, `erase` reads a server URL. A `Username` of `<token>` means the secret
 * is an identity token (an OAuth2 refresh token).
 */
import { spawn } from 'node:child_process';
import { ClientError } from '../errors.js';

/** What a helper keeps for a server. */
export interface HelperCredentials {
  ServerURL?: string;
  Username: string;
  Secret: string;
}

const NOT_FOUND = /credentials not found/i;

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin.
 * @returns stdout, or undefined when the helper says the credentials are not found
 * @throws ClientError CREDENTIALS when the helper is missing or fails
 */
async function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', (e) =>
      reject(new ClientError('CREDENTIALS', `cannot run credential helper ${program}: ${e.message}`, { cause: e, hint: `install ${program} or remove it from config.json` })),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      if (NOT_FOUND.test(out) || NOT_FOUND.test(err)) return resolve(undefined);
      reject(new ClientError('CREDENTIALS', `credential helper ${program} ${action} failed: ${(err || out).trim().slice(0, 300) || `exit ${code}`}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** The credentials `helper` keeps for `serverUrl`, or undefined. @throws ClientError CREDENTIALS */
export async function helperGet(helper: string, serverUrl: string): Promise<HelperCredentials | undefined> {
  const out = await runHelper(helper, 'get', serverUrl);
  if (out === undefined || out.trim() === '') return undefined;
  try {
    const parsed = JSON.parse(out) as HelperCredentials;
    return parsed.Secret ? parsed : undefined;
  } catch {
    throw new ClientError('CREDENTIALS', `credential helper docker-credential-${helper} printed something that is not JSON`);
  }
}

/** Stores credentials through `helper`. @throws ClientError CREDENTIALS */
export async function helperStore(helper: string, creds: HelperCredentials): Promise<void> {
  await runHelper(helper, 'store', JSON.stringify(creds));
}

/** Erases the credentials of `serverUrl` from `helper` (absent ones are no error). @throws ClientError CREDENTIALS */
export async function helperErase(helper: string, serverUrl: string): Promise<void> {
  await runHelper(helper, 'erase', serverUrl);
}
