/**
 * The built-in token server (`GET` and `POST /auth/token`): what a token holds (the intersection
 * of the requested scopes and the rules), several scopes in one request, refresh tokens, wrong
 * credentials, the login throttle, and what never reaches the log.
 */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { libtrustKeyId } from '../../src/auth/keys.js';
import { basic, bearer, claims, getFrom, getToken, htpasswdLine, startAuthRegistry, USERS } from './auth-harness.js';
import { expectError } from './harness.js';

describe('GET /auth/token', () => {
  it('signs an ES256 JWT with kid, iss, sub, aud, exp, nbf, iat, jti and access; answers token, access_token, expires_in, issued_at', async () => {
    const reg = await startAuthRegistry();
    const body = await getToken(reg.http, 'alice', ['repository:alice/app:pull,push']);
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(body.refresh_token).toBeUndefined();
    const [header] = body.token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', kid: reg.key.kid });
    expect(reg.key.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    const c = claims(body.token);
    expect(c).toMatchObject({ iss: 'wharf', sub: 'alice', aud: 'wharf', access: [{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }] });
    expect(c.exp! - c.iat!).toBe(300);
    expect(c.nbf).toBe(c.iat);
    expect(typeof c.jti).toBe('string');
    expect(new Date(body.issued_at).getTime()).toBe(c.iat! * 1000);
  });

  it('grants the intersection of what was asked and what the rules allow; asking for more is no error', async () => {
    const reg = await startAuthRegistry();
    const bob = await getToken(reg.http, 'bob', ['repository:team/app:pull,push,delete']);
    expect(claims(bob.token).access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const alice = await getToken(reg.http, 'alice', ['repository:team/app:pull,push,delete,*']);
    expect(claims(alice.token).access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    const own = await getToken(reg.http, 'alice', ['repository:alice/app:*']);
    expect(claims(own.token).access).toEqual([{ type: 'repository', name: 'alice/app', actions: ['*'] }]);
    const none = await getToken(reg.http, 'alice', ['repository:bob/app:pull', 'repository:Not_A_Name:pull', 'garbage']);
    expect(claims(none.token).access).toEqual([]);
    const admin = await getToken(reg.http, 'carol', ['registry:admin:*', 'repository:bob/app:delete']);
    expect(claims(admin.token).access).toEqual([
      { type: 'registry', name: 'admin', actions: ['*'] },
      { type: 'repository', name: 'bob/app', actions: ['delete'] },
    ]);
    expect(claims((await getToken(reg.http, 'alice', ['registry:admin:*'])).token).access).toEqual([]);
  });

  it('anonymous: no credentials, sub empty, the anonymous rules only, no refresh token', async () => {
    const reg = await startAuthRegistry();
    const anon = await getToken(reg.http, undefined, ['repository:public/x:pull,push', 'repository:alice/app:pull'], { offline_token: 'true' });
    expect(claims(anon.token)).toMatchObject({ sub: '', access: [{ type: 'repository', name: 'public/x', actions: ['pull'] }] });
    expect(anon.refresh_token).toBeUndefined();
  });

  it('empty Basic credentials are anonymous, never a failed login', async () => {
    const reg = await startAuthRegistry();
    for (let i = 0; i < 6; i++) {
      const res = await reg.http.get('/auth/token?scope=repository:public/x:pull').set('Authorization', basic('', ''));
      expect(res.status, res.text).toBe(200);
      expect(claims(res.body.token as string)).toMatchObject({ sub: '', access: [{ type: 'repository', name: 'public/x', actions: ['pull'] }] });
    }
    expect(reg.logs.filter((l) => l.msg === 'login failed')).toEqual([]);
  });

  it.each([
    ['not base64', 'Basic !!!!'],
    ['base64 with a stray character', 'Basic Ym9i$OmJvYi1wdw=='],
    ['without a colon once decoded', `Basic ${Buffer.from('bob').toString('base64')}`],
  ])('a broken Basic header (%s): 401 JSON saying so, not an anonymous token; on /v2/ too', async (_kind, authorization) => {
    const reg = await startAuthRegistry();
    const res = await reg.http.get('/auth/token?scope=repository:public/x:pull').set('Authorization', authorization);
    expect(expectError(res, 401, 'UNAUTHORIZED')).toMatch(/^malformed Authorization header: the (Basic credentials are not base64|decoded Basic credentials hold no ":")/);
    expect(res.headers['www-authenticate']).toBe('Basic realm="wharf",charset="UTF-8"');
    const v2 = await reg.http.get('/v2/public/x/tags/list').set('Authorization', authorization);
    expect(expectError(v2, 401, 'UNAUTHORIZED')).toMatch(/^malformed Authorization header/);
    expect(v2.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('several scopes in one request: repeated scope parameters, and space-separated ones', async () => {
    const reg = await startAuthRegistry();
    const repeated = await getToken(reg.http, 'alice', ['repository:alice/a:pull', 'repository:team/b:pull,push', 'registry:catalog:*', 'repository:alice/a:push']);
    const expected = [
      { type: 'repository', name: 'alice/a', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team/b', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ];
    expect(claims(repeated.token).access).toEqual(expected);
    const spaced = await getToken(reg.http, 'alice', ['repository:alice/a:pull,push repository:team/b:pull,push registry:catalog:*']);
    expect(claims(spaced.token).access).toEqual(expected);
    const { token } = repeated;
    for (const path of ['/v2/alice/a/tags/list', '/v2/team/b/tags/list']) {
      expect((await reg.http.get(path).set('Authorization', bearer(token))).status).toBe(404);
    }
    expect((await reg.http.get('/v2/_catalog').set('Authorization', bearer(token))).status).toBe(200);
  });

  it('wrong credentials: 401 with the spec JSON; an unknown user too; another service: 400', async () => {
    const reg = await startAuthRegistry();
    expectError(await reg.http.get('/auth/token').set('Authorization', basic('alice', 'wrong')), 401, 'UNAUTHORIZED');
    expectError(await reg.http.get('/auth/token').set('Authorization', basic('mallory', 'x')), 401, 'UNAUTHORIZED');
    expectError(await reg.http.get('/auth/token?service=elsewhere').set('Authorization', basic('alice', USERS.alice)), 400, 'DENIED');
  });
});

describe('POST /auth/token (OAuth2 form)', () => {
  it('grant_type=password with access_type=offline, then grant_type=refresh_token, with space-separated scopes', async () => {
    const reg = await startAuthRegistry();
    const first = await reg.http
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'password', username: 'alice', password: USERS.alice, service: 'wharf', client_id: 'test', access_type: 'offline', scope: 'repository:alice/app:pull,push' });
    expect(first.status, first.text).toBe(200);
    expect(claims(first.body.access_token as string).access).toEqual([{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }]);
    const refresh = first.body.refresh_token as string;
    expect(typeof refresh).toBe('string');

    const renewed = await reg.http
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: refresh, service: 'wharf', client_id: 'test', scope: 'repository:alice/app:pull repository:team/x:push' });
    expect(renewed.status, renewed.text).toBe(200);
    expect(claims(renewed.body.access_token as string)).toMatchObject({
      sub: 'alice',
      access: [
        { type: 'repository', name: 'alice/app', actions: ['pull'] },
        { type: 'repository', name: 'team/x', actions: ['push'] },
      ],
    });
    expect((await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(renewed.body.access_token as string))).status).toBe(404);
  });

  it('GET offline_token=true returns a refresh token that works until the password changes', async () => {
    const reg = await startAuthRegistry();
    const { refresh_token } = await getToken(reg.http, 'alice', [], { offline_token: 'true', account: 'alice', client_id: 'docker' });
    const refresh = () => reg.http.post('/auth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: refresh_token!, service: 'wharf', scope: 'repository:alice/app:pull' });
    expect((await refresh()).status).toBe(200);
    await writeFile(reg.htpasswd, `${htpasswdLine('alice', 'new-password')}\n${htpasswdLine('bob', USERS.bob)}\n`);
    const refused = await refresh();
    expect(expectError(refused, 401, 'UNAUTHORIZED')).toMatch(/password changed/);
    const login = await reg.http.get('/auth/token').set('Authorization', basic('alice', 'new-password'));
    expect(login.status).toBe(200);
  });

  it('refuses a refresh token signed by another key, an access token as refresh token, a missing field and an unknown grant type', async () => {
    const reg = await startAuthRegistry();
    const { token } = await getToken(reg.http, 'alice', []);
    const post = (form: Record<string, string>) => reg.http.post('/auth/token').type('form').send(form);
    expectError(await post({ grant_type: 'refresh_token', refresh_token: token }), 401, 'UNAUTHORIZED');
    expectError(await post({ grant_type: 'refresh_token', refresh_token: 'not.a.jwt' }), 401, 'UNAUTHORIZED');
    expectError(await post({ grant_type: 'password', username: 'alice' }), 400, 'UNSUPPORTED');
    expectError(await post({ grant_type: 'client_credentials' }), 400, 'UNSUPPORTED');
    expectError(await post({ grant_type: 'password', username: 'alice', password: 'wrong' }), 401, 'UNAUTHORIZED');
  });
});

describe('POST /auth/token with a form it cannot read', () => {
  it.each([
    ['larger than 64 KiB', { 'Content-Type': 'application/x-www-form-urlencoded' }, `grant_type=password&username=bob&password=${'a'.repeat(70_000)}`, 413, 'SIZE_INVALID'],
    ['with more than 1000 fields', { 'Content-Type': 'application/x-www-form-urlencoded' }, Array.from({ length: 1001 }, (_, i) => `f${i}=x`).join('&'), 413, 'SIZE_INVALID'],
    ['Content-Encoding: gzip that is not gzip', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' }, 'grant_type=password', 400, 'UNSUPPORTED'],
    ['an unknown Content-Encoding', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'br2' }, 'grant_type=password', 415, 'UNSUPPORTED'],
    ['an unknown charset', { 'Content-Type': 'application/x-www-form-urlencoded; charset=klingon' }, 'grant_type=password', 415, 'UNSUPPORTED'],
  ] as const)('%s: the spec JSON error with its status, nothing logged as an error', async (_kind, headers, body, status, code) => {
    const reg = await startAuthRegistry();
    const res = await reg.http.post('/auth/token').set(headers).send(body);
    expectError(res, status, code);
    expect(reg.logs.filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('failed logins', () => {
  it('are slowed per account and address: after 5 failures a correct password gets 429 with Retry-After until the lock passes', async () => {
    const reg = await startAuthRegistry();
    for (let i = 0; i < 5; i++) expectError(await reg.http.get('/auth/token').set('Authorization', basic('alice', `guess-${i}`)), 401, 'UNAUTHORIZED');
    const locked = await reg.http.get('/auth/token').set('Authorization', basic('alice', USERS.alice));
    expectError(locked, 429, 'TOOMANYREQUESTS');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    reg.advance(2);
    expect((await reg.http.get('/auth/token').set('Authorization', basic('alice', USERS.alice))).status).toBe(200);
  });

  it('are slowed per address: failures spread over accounts lock the address', async () => {
    const reg = await startAuthRegistry();
    for (let i = 0; i < 5; i++) await reg.http.get('/auth/token').set('Authorization', basic(`nobody${i}`, 'x'));
    expectError(await reg.http.get('/auth/token').set('Authorization', basic('bob', USERS.bob)), 429, 'TOOMANYREQUESTS');
  });

  it('for an account from other addresses never lock that account out, however many', async () => {
    const reg = await startAuthRegistry();
    for (let i = 2; i < 12; i++) expect((await getFrom(reg.url, `127.0.0.${i}`, '/auth/token', basic('carol', 'guess'))).status).toBe(401);
    expect((await getFrom(reg.url, '127.0.0.1', '/auth/token', basic('carol', USERS.carol))).status).toBe(200);
    expect((await getFrom(reg.url, '127.0.0.1', '/v2/carol/app/tags/list', basic('carol', USERS.carol))).status).toBe(404);
    expect((await getFrom(reg.url, '127.0.0.2', '/auth/token', basic('carol', USERS.carol))).status).toBe(200);
  });

  it('a success on one account does not clear the count of its address', async () => {
    const reg = await startAuthRegistry();
    const from = (authorization: string) => getFrom(reg.url, '127.0.0.9', '/auth/token', authorization);
    for (let i = 0; i < 4; i++) expect((await from(basic('alice', `guess-${i}`))).status).toBe(401);
    expect((await from(basic('bob', USERS.bob))).status).toBe(200);
    expect((await from(basic('carol', 'guess'))).status).toBe(401);
    const locked = await from(basic('bob', USERS.bob));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await getFrom(reg.url, '127.0.0.10', '/auth/token', basic('alice', USERS.alice))).status).toBe(200);
  });

  it('are logged with the account and address but never the password; no token or Authorization header reaches the log', async () => {
    const reg = await startAuthRegistry();
    await reg.http.get('/auth/token').set('Authorization', basic('alice', 'S3cret-Guess'));
    const ok = await getToken(reg.http, 'alice', ['repository:alice/app:pull'], { offline_token: 'true' });
    await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(ok.token));
    await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(`${ok.token}x`));
    const failed = reg.logs.find((l) => l.msg === 'login failed');
    expect(failed).toMatchObject({ account: 'alice', reason: 'wrong password' });
    expect(failed!.address).toMatch(/127\.0\.0\.1/);
    const text = JSON.stringify(reg.logs);
    for (const secret of ['S3cret-Guess', USERS.alice, ok.token, ok.token.split('.')[2]!, ok.refresh_token!, Buffer.from(`alice:${USERS.alice}`).toString('base64')]) {
      expect(text).not.toContain(secret);
    }
    expect(text.toLowerCase()).not.toContain('authorization');
    expect(reg.logs.some((l) => l.msg === 'token issued' && l.account === 'alice')).toBe(true);
  });

  it('the token issued line holds at most 20 scopes, each cut to 256 characters, with a count of the rest', async () => {
    const reg = await startAuthRegistry();
    const scope = ['repository:bob/' + 'a'.repeat(5000) + ':pull', ...Array.from({ length: 100 }, (_, i) => `repository:bob/r${i}:pull`)].join(' ');
    const res = await reg.http.post('/auth/token').type('form').send({ grant_type: 'password', username: 'bob', password: USERS.bob, scope });
    expect(res.status, res.text).toBe(200);
    const issued = reg.logs.find((l) => l.msg === 'token issued')!;
    expect(String(issued.requested)).toMatch(/^repository:bob\/a{241}\.\.\. repository:bob\/r0:pull .* \(\+81 more\)$/);
    expect(String(issued.granted)).toMatch(/^repository:bob\/r0:pull .* \(\+80 more\)$/);
    expect(JSON.stringify(issued).length).toBeLessThan(2000);
  });
});

describe('the signing key', () => {
  it('is generated with mode 0600 beside the filesystem storage root when auth.token.key is not set', async () => {
    const { mkdtemp, stat, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createPublicKey } = await import('node:crypto');
    const { validate } = await import('../../src/config/load.js');
    const { Auth } = await import('../../src/auth/auth.js');
    const { pino } = await import('pino');
    const dir = await mkdtemp(join(tmpdir(), 'wharf-key-'));
    try {
      const config = validate({ storage: { filesystem: { rootdirectory: join(dir, 'storage') } }, auth: { token: {} } });
      const first = new Auth(config, config.auth!, { logger: pino({ level: 'silent' }), now: () => new Date() });
      const file = join(dir, 'wharf-token-key.pem');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const again = new Auth(config, config.auth!, { logger: pino({ level: 'silent' }), now: () => new Date() });
      const token = first.token!.issuer.accessToken('x', []).token;
      expect(again.token!.verifier.verifyAccess(token).account).toBe('x');
      const kid = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
      expect(kid).toBe(libtrustKeyId(createPublicKey(await readFile(file, 'utf8'))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
