/**
 * `wharf login [REGISTRY]` checks a username and password against the registry (its token server
 * when it has one) and keeps them as `docker login` does: through the configured credential helper
 * (credHelpers, else credsStore), else base64 in config.json's `auths`. The password comes from a
 * prompt, or from stdin with `--password-stdin`. `wharf logout [REGISTRY]` removes them.
 */
import { createInterface } from 'node:readline/promises';
import password from '@inquirer/password';
import { DockerCredentials, StaticCredentials } from '../client/auth/credentials.js';
import { ClientError } from '../client/errors.js';
import { RegistryClient } from '../client/registry-client.js';
import { DOCKER_HUB, normalizeRegistry } from '../oci/image-reference.js';
import { describeError } from './client-errors.js';
import { CommandFailure, type ClientOptions } from './client-common.js';

/** Options of `wharf login`. */
export interface LoginOptions extends ClientOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

/** Logs in to REGISTRY (default Docker Hub). @throws CommandFailure */
export async function login(registryArg: string | undefined, options: LoginOptions): Promise<void> {
  const registry = host(registryArg);
  const username = options.username ?? (await ask('Username: '));
  if (!username) throw new CommandFailure('a username is needed: pass --username USER');
  const secret = options.passwordStdin ? await readStdin() : (options.password ?? (process.stdin.isTTY ? await password({ message: 'Password:', mask: '*' }) : ''));
  if (!secret) throw new CommandFailure(emptyPassword(options));
  const client = new RegistryClient({ credentials: new StaticCredentials({ [registry]: { username, password: secret } }), insecure: options.insecure ? [registry] : [], caFile: options.caFile, retry: { retries: 1 } });
  try {
    await client.ping(registry);
  } catch (err) {
    // the token server's refusal already says "wrong username or password?"; a registry's own 401 says "run wharf login"
    const why = err instanceof ClientError && err.code === 'CREDENTIALS' ? err.message.replace(`${registry}: `, '') : describeError(err, { registry }).replace(/: run wharf login .*$/, ': wrong username or password?');
    throw new CommandFailure(`login to ${registry} failed: ${why}`, { cause: err });
  } finally {
    await client.close();
  }
  const where = await new DockerCredentials().store(registry, username, secret);
  if (options.quiet) return;
  // as docker login warns: without a credential helper the password sits in the file, base64 only
  const kept = 'helper' in where ? `by docker-credential-${where.helper}` : `in ${where.file}, unencrypted (base64): set credsStore there to keep it in a credential helper`;
  process.stderr.write(`Login Succeeded (credentials kept ${kept})\n`);
}

/** Logs out of REGISTRY. */
export async function logout(registryArg: string | undefined, options: ClientOptions): Promise<void> {
  const registry = host(registryArg);
  const found = await new DockerCredentials().erase(registry).catch((err: unknown) => {
    throw new CommandFailure(describeError(err, { registry }));
  });
  if (!options.quiet) process.stderr.write(found ? `Removed the login credentials of ${registry}\n` : `Not logged in to ${registry}\n`);
}

/** Why no password came: what --password-stdin or --password gave, else how to give one. */
function emptyPassword(options: LoginOptions): string {
  if (options.passwordStdin) return '--password-stdin read an empty password: pipe the password in, e.g. echo "$PASSWORD" | wharf login ...';
  if (options.password !== undefined) return '--password is empty: give the password, or pipe it in with --password-stdin';
  return 'a password is needed: type it at the prompt or pass it with --password-stdin';
}

function host(value: string | undefined): string {
  try {
    return value ? normalizeRegistry(value) : DOCKER_HUB;
  } catch (err) {
    throw new CommandFailure((err as Error).message);
  }
}

async function ask(question: string): Promise<string> {
  if (!process.stdin.isTTY) return '';
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
