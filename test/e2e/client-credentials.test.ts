/**
 * Docker's credentials shared with the `wharf` client, against Wharf in token mode: after
 * `docker login`, `wharf push` works without a login of its own; after `wharf login`, `docker pull`
 * of a private image works; both with config.json `auths` and through a credential helper
 * (`docker-credential-test`, a script on the PATH that keeps credentials in files).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFile, mkdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ALICE, startTokenWharf, wharf, writeCredentialHelper } from './client-support.js';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, once, removeDir, requireTools, tempDir, TOOLS } from './helpers.js';

describe('wharf and docker share credentials (Wharf token mode)', () => {
  const setup = once(async () => {
    await requireTools(TOOLS.docker);
    dockerHost();
    const dir = await tempDir('wharf-e2e-creds-');
    const { registry } = await startTokenWharf();
    const bin = join(dir, 'bin');
    await writeCredentialHelper(bin, join(dir, 'helper-store'));
    const saved = join(dir, 'base.tar');
    await dockerClient(join(dir, 'save-config'))(['save', BASE_IMAGE, '-o', saved]);
    return { dir, registry, bin, saved, path: `${bin}:${process.env.PATH ?? ''}` };
  });
  afterAll(async () => {
    const s = await setup().catch(() => undefined);
    await s?.registry.stop();
    if (s) await removeDir(s.dir);
  });

  for (const mode of ['auths', 'credential helper'] as const) {
    it(`docker login lets wharf push, and wharf login lets docker pull a private image (${mode})`, async () => {
      const { dir, registry, saved, path } = await setup();
      const configFor = async (name: string) => {
        const config = join(dir, `${mode === 'auths' ? 'plain' : 'helper'}-${name}`);
        await mkdir(config, { recursive: true });
        if (mode === 'credential helper') await writeFile(join(config, 'config.json'), JSON.stringify({ credsStore: 'test' }));
        return { DOCKER_CONFIG: config, PATH: path };
      };
      const repo = `${registry.host}/alice/${mode === 'auths' ? 'plain' : 'helper'}`;

      const first = await configFor('docker-login');
      const docker1 = dockerClient(first.DOCKER_CONFIG);
      await docker1(['login', registry.host, '-u', ALICE.user, '--password-stdin'], { input: ALICE.password, env: { PATH: path } });
      const pushed = await wharf(['push', saved, `${repo}:1`, '--json'], first);
      expect(JSON.parse(pushed.stdout).digest).toMatch(/^sha256:/);

      const second = await configFor('wharf-login');
      const loggedIn = await wharf(['login', registry.host, '-u', ALICE.user, '--password-stdin'], second, { input: ALICE.password });
      // as docker login warns: the password in the file is base64 only
      if (mode === 'auths') expect(loggedIn.stderr).toContain(`Login Succeeded (credentials kept in ${join(second.DOCKER_CONFIG, 'config.json')}, unencrypted (base64)`);
      else expect(loggedIn.stderr).toContain('Login Succeeded (credentials kept by docker-credential-test)');
      const stored = JSON.parse(await readFile(join(second.DOCKER_CONFIG, 'config.json'), 'utf8')) as { auths: Record<string, { auth?: string }> };
      if (mode === 'auths') expect(stored.auths[registry.host]?.auth).toBe(Buffer.from(`${ALICE.user}:${ALICE.password}`).toString('base64'));
      else expect(stored.auths[registry.host]).toEqual({});
      const docker2 = dockerClient(second.DOCKER_CONFIG);
      await docker2(['rmi', '-f', `${repo}:1`], { env: { PATH: path } }).catch(() => undefined);
      await docker2(['pull', `${repo}:1`], { env: { PATH: path } });

      const anonymous = { DOCKER_CONFIG: join(dir, `anonymous-${mode.length}`) };
      const refused = await wharf(['pull', `${repo}:1`, join(dir, `anon-${mode.length}`)], anonymous, { allowFailure: true });
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/(unauthorized|denied|login)/);
      if (mode === 'credential helper') {
        const calls = await readFile(join(dir, 'helper-store', 'calls.log'), 'utf8');
        expect(calls.split('\n')).toEqual(expect.arrayContaining(['store', 'get']));
      }
      await wharf(['logout', registry.host], second);
      expect((await wharf(['pull', `${repo}:1`, join(dir, `after-logout-${mode.length}`)], second, { allowFailure: true })).code).toBe(1);
    });
  }
});
