/**
 * The client's authentication against Wharf's built-in token server: Bearer challenges answered
 * with credentials from a store (static, Docker's config.json, a credential helper on the PATH),
 * tokens cached per scope, a cross-repository mount asking two scopes, anonymous pulls, and the
 * errors for a wrong password and for no credentials.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyImage, DockerCredentials, layoutSource, parseImageReference, RegistryClient, registrySink, registrySource, StaticCredentials, layoutSink } from '../../src/client/index.js';
import { startAuthRegistry, USERS } from './auth-harness.js';
import { login } from '../../src/cli/login.js';
import { push } from '../../src/cli/push.js';
import { writeImage, writeLayoutIndex } from '../support/layouts.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wharf-client-auth-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0]): RegistryClient {
  const c = new RegistryClient({ retry: { retries: 1, baseDelayMs: 10 }, ...options });
  cleanups.push(() => c.close());
  return c;
}

async function layout(): Promise<string> {
  const src = join(await tempDir(), 'src');
  const { manifest } = await writeImage(src);
  await writeLayoutIndex(src, [manifest]);
  return src;
}

describe('client authentication (token server)', () => {
  it('pushes with static credentials, mounts across repositories, and asks one token per scope', async () => {
    const reg = await startAuthRegistry();
    const host = new URL(reg.url).host;
    const c = client({ credentials: new StaticCredentials({ [host]: { username: 'alice', password: USERS.alice } }) });
    const src = await layout();
    await copyImage(layoutSource(src), registrySink(c, parseImageReference(`${host}/alice/app:1`)));
    const copied = await copyImage(registrySource(c, parseImageReference(`${host}/alice/app:1`)), registrySink(c, parseImageReference(`${host}/alice/other:1`)));
    expect(copied.blobs.mounted).toBe(2);
    const tokenRequests = reg.logs.filter((l) => (l as { req?: { path?: string } }).req?.path?.startsWith('/auth/token'));
    expect(tokenRequests.length).toBeLessThanOrEqual(5);
  });

  it('reads credentials from config.json through a credential helper, and from auths', async () => {
    const reg = await startAuthRegistry();
    const host = new URL(reg.url).host;
    const dir = await tempDir();
    const helper = join(dir, 'docker-credential-test');
    await writeFile(helper, `#!/bin/sh\nread url\necho '{"ServerURL":"'$url'","Username":"alice","Secret":"${USERS.alice}"}'\n`);
    await chmod(helper, 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    cleanups.push(async () => void (process.env.PATH = path));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [host]: 'test' }, auths: { [host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }));
    const viaHelper = client({ credentials: new DockerCredentials({ configDir: dir, authFile: join(dir, 'none.json') }) });
    await copyImage(layoutSource(await layout()), registrySink(viaHelper, parseImageReference(`${host}/alice/helper:1`)));

    const plain = await tempDir();
    const store = new DockerCredentials({ configDir: plain, authFile: join(plain, 'none.json') });
    await store.store(host, 'alice', USERS.alice);
    expect(JSON.parse(await readFile(join(plain, 'config.json'), 'utf8'))).toEqual({ auths: { [host]: { auth: Buffer.from(`alice:${USERS.alice}`).toString('base64') } } });
    const out = join(await tempDir(), 'out');
    await copyImage(registrySource(client({ credentials: store }), parseImageReference(`${host}/alice/helper:1`)), layoutSink(out, '1'));
    expect(await store.erase(host)).toBe(true);
    expect(await store.get(host)).toBeUndefined();
  });

  it('fails with CREDENTIALS for a wrong password and DENIED without credentials', async () => {
    const reg = await startAuthRegistry();
    const host = new URL(reg.url).host;
    const wrong = client({ credentials: new StaticCredentials({ [host]: { username: 'alice', password: 'nope' } }) });
    await expect(wrong.ping(host)).rejects.toMatchObject({ code: 'CREDENTIALS' });
    const anonymous = client({});
    await expect(copyImage(layoutSource(await layout()), registrySink(anonymous, parseImageReference(`${host}/alice/app:1`)))).rejects.toMatchObject({ status: 403 });
  });

  /** Runs a CLI command body with Docker's credentials read from an empty folder; its failure's one line. */
  async function failureOf(command: () => Promise<void>): Promise<string> {
    const dir = await tempDir();
    const saved = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE };
    Object.assign(process.env, { DOCKER_CONFIG: dir, REGISTRY_AUTH_FILE: join(dir, 'auth.json') });
    try {
      return await command().then(
        () => 'no failure',
        (err: unknown) => (err as Error).message,
      );
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }

  it('wharf login with a wrong password says so once, without the registry twice', async () => {
    const reg = await startAuthRegistry();
    const host = new URL(reg.url).host;
    expect(await failureOf(() => login(host, { username: 'alice', password: 'nope', quiet: true }))).toBe(
      `login to ${host} failed: the token server refused the credentials (wrong username or password?)`,
    );
  });

  it('wharf push without a login tells to log in, not that "your account" may not', async () => {
    const reg = await startAuthRegistry();
    const host = new URL(reg.url).host;
    const src = await layout();
    expect(await failureOf(() => push(src, `${host}/alice/app:1`, { quiet: true }))).toBe(`unauthorized: ${host} needs a login for alice/app: run wharf login ${host}`);
  });
});
