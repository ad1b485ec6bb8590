/**
 * Unit tests of the auth building blocks: scope parsing, the access rules (first match wins,
 * `${account}` expansion that cannot be widened), htpasswd parsing (bcrypt only, with the line and
 * the fix), the libtrust key id, and the `auth` configuration's errors.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Auth } from '../../src/auth/auth.js';
import { libtrustKeyId, loadExternalKeys } from '../../src/auth/keys.js';
import { AccessPolicy } from '../../src/auth/policy.js';
import { formatScopes, missingAccess, parseScope, parseScopes, scopesForLog } from '../../src/auth/scope.js';
import { parseHtpasswd, UserStore } from '../../src/auth/users.js';
import { validate } from '../../src/config/load.js';
import { configErrorOf } from '../support/config.js';
import { tempFolder } from '../support/temp.js';

const HASH = '$2y$05$xy3lyCPrDC1xKA04mAgFeuNXFtCfQDu9pJtHxqe9ihlMAY9fV7THC';

function configError(auth: unknown): string {
  return configErrorOf(() => validate({ storage: { inmemory: {} }, auth }));
}

describe('scopes', () => {
  it('parses type, name (which may hold a port) and actions; rejects malformed ones', () => {
    expect(parseScope('repository:team/app:pull,push')).toEqual({ type: 'repository', name: 'team/app', actions: ['pull', 'push'] });
    expect(parseScope('repository:localhost:5000/app:pull')).toEqual({ type: 'repository', name: 'localhost:5000/app', actions: ['pull'] });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    for (const bad of ['', 'repository', 'repository:app', ':app:pull', 'repository::pull', 'repository:app:']) expect(parseScope(bad)).toBeUndefined();
  });

  it('merges repeated and space-separated scopes per resource and formats them back', () => {
    const merged = parseScopes(['repository:a:pull repository:b:push', 'repository:a:push,pull']);
    expect(merged).toEqual([
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
      { type: 'repository', name: 'b', actions: ['push'] },
    ]);
    expect(formatScopes(merged)).toBe('repository:a:pull,push repository:b:push');
  });

  it('for a log line: at most 20 scopes, each cut to 256 characters, and a count of the rest', () => {
    const long = { type: 'repository', name: `bob/${'a'.repeat(5000)}`, actions: ['pull'] };
    const many = Array.from({ length: 30 }, (_, i) => ({ type: 'repository', name: `bob/r${i}`, actions: ['pull'] }));
    const line = scopesForLog([long, ...many]);
    expect(line.startsWith(`repository:bob/${'a'.repeat(256 - 15)}... repository:bob/r0:pull `)).toBe(true);
    expect(line.endsWith('repository:bob/r18:pull (+11 more)')).toBe(true);
    expect(scopesForLog(many.slice(0, 2))).toBe('repository:bob/r0:pull repository:bob/r1:pull');
  });

  it('a granted * covers every action; the missing actions are reported per resource', () => {
    const granted = [{ type: 'repository', name: 'a', actions: ['*'] }, { type: 'repository', name: 'b', actions: ['pull'] }];
    expect(missingAccess(granted, [{ type: 'repository', name: 'a', actions: ['pull', 'delete'] }])).toEqual([]);
    expect(missingAccess(granted, [{ type: 'repository', name: 'b', actions: ['pull', 'push'] }])).toEqual([{ type: 'repository', name: 'b', actions: ['push'] }]);
  });
});

describe('access rules', () => {
  const policy = new AccessPolicy(
    [
      { account: 'mallory', name: '*', actions: [] },
      { account: 'anonymous', name: 'public/*', actions: ['pull'] },
      { account: 'authenticated', name: '${account}/*', actions: ['*'] },
      { group: 'ci', name: 'team/?pp', actions: ['pull', 'push'] },
      { account: '*', name: 'team/*', actions: ['pull'] },
    ],
    { ci: ['robot'] },
  );

  it('the first matching rule decides, even when it grants nothing', () => {
    expect([...policy.actions('mallory', 'mallory/x')]).toEqual([]);
    expect([...policy.actions('alice', 'alice/x')].sort()).toEqual(['*', 'delete', 'pull', 'push']);
    expect([...policy.actions('robot', 'team/app')]).toEqual(['pull', 'push']);
    expect([...policy.actions('robot', 'team/app2')]).toEqual(['pull']);
    expect([...policy.actions(undefined, 'team/app')]).toEqual(['pull']);
    expect([...policy.actions(undefined, 'public/a/b')]).toEqual(['pull']);
    expect([...policy.actions(undefined, 'alice/x')]).toEqual([]);
  });

  it('* crosses /; ${account} is the whole account name, literally, and never matches anonymous', () => {
    expect(policy.actions('alice', 'alice/a/b/c').has('push')).toBe(true);
    expect(policy.actions('alice', 'alicex/a').has('push')).toBe(false);
    expect(policy.actions('al', 'alice/a').has('push')).toBe(false);
    // an account name is inserted as a literal: "." matches only ".", never any character
    expect(policy.actions('a.b', 'axb/app').has('push')).toBe(false);
    expect(policy.actions('a.b', 'a.b/app').has('push')).toBe(true);
    expect(policy.actions(undefined, '/x').size).toBe(0);
  });

  it('grants the requested actions the rules allow; * only where a rule grants *', () => {
    expect(policy.grant('alice', [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', '*'] }])).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    expect(policy.grant('alice', [{ type: 'repository', name: 'alice/app', actions: ['*'] }])).toEqual([{ type: 'repository', name: 'alice/app', actions: ['*'] }]);
    expect(policy.grant('alice', [{ type: 'repository', name: 'Alice/App', actions: ['pull'] }])).toEqual([]);
    expect(policy.grant(undefined, [{ type: 'registry', name: 'catalog', actions: ['*'] }, { type: 'registry', name: 'admin', actions: ['*'] }])).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  });

  it('account names with / or glob characters, and the reserved words, are refused in the configuration', () => {
    for (const name of ['a/b', 'a*', 'a?', '[a]', 'anonymous', 'authenticated', '-x', '']) {
      expect(configError({ htpasswd: { path: '/x' }, users: [{ name, password: HASH }] })).toMatch(/auth\.users\.0\.name.*invalid account name/);
    }
  });
});

describe('htpasswd', () => {
  it('reads $2y$, $2a$ and $2b$ bcrypt lines, skipping blank lines and comments', () => {
    const users = parseHtpasswd(`# users\nalice:${HASH}\n\nbob:${HASH.replace('$2y$', '$2b$')}\r\ncarol:${HASH.replace('$2y$', '$2a$')}\n`, '/etc/htpasswd');
    expect([...users.keys()]).toEqual(['alice', 'bob', 'carol']);
  });

  it.each([
    ['$apr1$Ufd8Ql3N$dCsN1E0kzpvyzhr8qBTb3.', /Apache MD5/],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /SHA-1/],
    ['abJnggxhB/yWI', /not a bcrypt hash/],
    ['plaintext', /not a bcrypt hash/],
  ])('refuses %s naming the file, the line, the user and the fix', (hash, kind) => {
    const message = configErrorOf(() => parseHtpasswd(`alice:${HASH}\nbob:${hash}\n`, '/etc/wharf/htpasswd'));
    expect(message).toMatch(kind);
    expect(message).toContain('auth.htpasswd.path = "/etc/wharf/htpasswd", line 2 (user "bob")');
    expect(message).toContain('htpasswd -B /etc/wharf/htpasswd bob');
  });

  describe('an unknown account', () => {
    afterEach(() => void vi.restoreAllMocks());
    const line = (name: string, cost: number) => `${name}:${bcrypt.hashSync('pw', cost).replace(/^\$2b\$/, '$2y$')}`;

    it('is checked against a hash of the cost most users\' hashes have, recomputed when the htpasswd file is reloaded', async () => {
      const file = join(tempFolder('wharf-users-'), 'htpasswd');
      writeFileSync(file, `${line('alice', 5)}\n${line('bob', 5)}\n${line('carol', 4)}\n`);
      const store = new UserStore(file, [], pino({ level: 'silent' }));
      const compare = vi.spyOn(bcrypt, 'compare');
      const comparedCost = async (name: string) => {
        compare.mockClear();
        await store.check(name, 'guess');
        expect(compare).toHaveBeenCalledTimes(1);
        return bcrypt.getRounds(compare.mock.calls[0]![1]);
      };
      expect(await comparedCost('alice')).toBe(5);
      expect(await comparedCost('mallory')).toBe(5);
      writeFileSync(file, `${line('alice', 6)}\n${line('dave', 6)}\n`);
      expect(await comparedCost('mallory')).toBe(6);
    });

    it('with users only in the configuration, uses their cost', async () => {
      const store = new UserStore(undefined, [{ name: 'ci', password: bcrypt.hashSync('pw', 4) }], pino({ level: 'silent' }));
      const compare = vi.spyOn(bcrypt, 'compare');
      await store.check('mallory', 'guess');
      expect(bcrypt.getRounds(compare.mock.calls[0]![1])).toBe(4);
    });
  });

  it('warns at start-up and on reload about accounts a ${account} rule can never match (upper case, @), without refusing them', async () => {
    const file = join(tempFolder('wharf-users-'), 'htpasswd');
    writeFileSync(file, ['alice', 'Bob', 'carol@corp', 'dave.smith'].map((n) => `${n}:${HASH}`).join('\n'));
    const start = (acl: unknown[]) => {
      const lines: { level: number; msg: string; accounts?: string[]; count?: number }[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
      const config = validate({ storage: { inmemory: {} }, auth: { htpasswd: { path: file }, users: [{ name: 'Eve', password: HASH }], acl } });
      return { auth: new Auth(config, config.auth!, { logger, now: () => new Date() }), warnings: () => lines.filter((l) => l.level === 40) };
    };
    const { auth, warnings } = start([{ account: 'authenticated', name: '${account}/*', actions: ['*'] }, { account: 'Bob', name: 'bob/*', actions: ['pull'] }]);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ accounts: ['Bob', 'carol@corp', 'Eve'], count: 3 });
    expect(warnings()[0]!.msg).toMatch(/\$\{account\} rules/);
    expect(auth.users!.has('Bob')).toBe(true);
    expect(auth.policy.actions('Bob', 'bob/app')).toEqual(new Set(['pull']));
    writeFileSync(file, ['alice', 'Frank'].map((n) => `${n}:${HASH}`).join('\n'));
    expect(auth.users!.has('Frank')).toBe(true);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ accounts: ['Frank', 'Eve'], count: 2 });
    expect(start([{ account: 'authenticated', name: 'team/*', actions: ['pull'] }]).warnings()).toEqual([]);
  });

  it('refuses invalid user names and duplicates', () => {
    expect(() => parseHtpasswd(`team/x:${HASH}\n`, 'f')).toThrow(/line 1 .*invalid account name/);
    expect(() => parseHtpasswd(`a:${HASH}\na:${HASH}\n`, 'f')).toThrow(/line 2 .*appears twice/);
    expect(() => parseHtpasswd('no-colon\n', 'f')).toThrow(/expected "user:hash"/);
  });
});

describe('keys', () => {
  it('libtrust key ids: 12 groups of 4 base32 characters, stable per key, different across keys', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const b = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(libtrustKeyId(a)).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(libtrustKeyId(a)).toBe(libtrustKeyId(a));
    expect(libtrustKeyId(a)).not.toBe(libtrustKeyId(b));
  });

  it('external keys from a PEM public key or a certificate bundle; a file without a usable key is a ConfigError', () => {
    const dir = tempFolder('wharf-keys-');
    const pub = join(dir, 'pub.pem');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const [key] = loadExternalKeys({ publickey: pub }, 'corp');
    expect(key).toMatchObject({ kid: libtrustKeyId(publicKey), algorithms: ['ES256'], issuer: 'corp', builtIn: false });
    const empty = join(dir, 'certs.pem');
    writeFileSync(empty, 'nothing here\n');
    expect(() => loadExternalKeys({ certificates: empty }, 'corp')).toThrow(/auth\.token\.external\.certificates = .*no RSA or EC/);
    const ed = join(dir, 'ed.pem');
    writeFileSync(ed, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect(() => loadExternalKeys({ publickey: ed }, 'corp')).toThrow(/no RSA or EC/);
  });
});

describe('the auth configuration', () => {
  it('takes the shape of the issue: token, htpasswd, groups, acl; defaults service, issuer and lifetimes', () => {
    const c = validate({
      storage: { inmemory: {} },
      auth: {
        token: { service: 'wharf', issuer: 'wharf', expiration: 300 },
        htpasswd: { path: '/etc/wharf/htpasswd' },
        groups: { admins: ['alice'] },
        acl: [
          { account: 'anonymous', name: 'public/*', actions: ['pull'] },
          { account: 'authenticated', name: '${account}/*', actions: ['*'] },
          { group: 'admins', name: '*', actions: ['*'], admin: true },
        ],
      },
    });
    expect(c.auth?.token).toEqual({ service: 'wharf', issuer: 'wharf', expiration: 300, refreshexpiration: 604800 });
    expect(validate({ storage: { inmemory: {} }, auth: { token: {} } }).auth?.token?.expiration).toBe(300);
  });

  it('names the key, the value and the fix', () => {
    expect(configError({})).toMatch(/set auth\.token .* or auth\.htpasswd/);
    expect(configError({ token: { expiration: 5 } })).toMatch(/"auth\.token\.expiration" = 5 .*at least 60 seconds: docker, containerd and skopeo cache a token for at least 60 s/);
    expect(configError({ token: {}, acl: [{ group: 'ops', name: '*', actions: ['*'] }] })).toMatch(/"auth\.acl\.0\.group" = "ops".*defines no group "ops"/);
    expect(configError({ token: {}, acl: [{ name: '*', actions: ['pull'] }] })).toMatch(/set exactly one of account or group/);
    expect(configError({ token: {}, acl: [{ account: 'x', name: 'Team/*', actions: ['pull'] }] })).toMatch(/auth\.acl\.0\.name.*repository pattern/);
    expect(configError({ token: {}, acl: [{ account: 'x', name: 'a/*', actions: ['read'] }] })).toMatch(/expected pull, push, delete or \*/);
    expect(configError({ token: { external: { realm: 'https://a/token', issuer: 'a' } } })).toMatch(/exactly one of publickey/);
    expect(configError({ users: [{ name: 'alice', password: 'secret' }] })).toMatch(/auth\.users\.0\.password.*bcrypt hash/);
  });
});

describe('config/examples/token-auth.yaml', () => {
  it('loads, with the rules in the shape docs/authentication.md shows', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const c = loadConfig(join(import.meta.dirname, '../../config/examples/token-auth.yaml'), {});
    expect(c.auth?.token).toMatchObject({ service: 'wharf', issuer: 'wharf', expiration: 300 });
    expect(c.auth?.acl[0]).toEqual({ group: 'admins', name: '*', actions: ['*'], admin: true });
    expect(c.auth?.acl).toContainEqual({ account: 'authenticated', name: '${account}/*', actions: ['*'] });
  });
});
