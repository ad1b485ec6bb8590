/**
 * Token authentication, the registry side: the challenge each endpoint answers without a token
 * (naming exactly the scope it needs, before any storage access), what tokens are accepted, the
 * 401-for-more-scope versus 403-never distinction, and that no token kind that should be refused
 * gets through (expired, not yet valid, wrong audience or issuer, `alg: none`, HMAC-signed with the
 * public key, tampered, unknown `kid`).
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { bearer, getToken, startAuthRegistry, type AuthRegistry } from './auth-harness.js';
import { expectError, pushBlob, pushImage, randomDigest } from './harness.js';

const DIGEST = randomDigest();
const UPLOAD = '/v2/team/app/blobs/uploads/0b7c2a4e-9a51-4a5e-8d2e-3f1c1b6f0c11';

/** Every endpoint kind with the scope its challenge must name (undefined: none). */
const ENDPOINTS: [method: string, path: string, scope: string | undefined][] = [
  ['GET', '/v2/', undefined],
  ['GET', '/v2/_catalog', 'registry:catalog:*'],
  ['GET', '/v2/team/app/tags/list', 'repository:team/app:pull'],
  ['GET', '/v2/team/app/manifests/latest', 'repository:team/app:pull'],
  ['HEAD', '/v2/team/app/manifests/latest', 'repository:team/app:pull'],
  ['PUT', '/v2/team/app/manifests/latest', 'repository:team/app:pull,push'],
  ['DELETE', `/v2/team/app/manifests/${DIGEST}`, 'repository:team/app:delete'],
  ['GET', `/v2/team/app/blobs/${DIGEST}`, 'repository:team/app:pull'],
  ['HEAD', `/v2/team/app/blobs/${DIGEST}`, 'repository:team/app:pull'],
  ['DELETE', `/v2/team/app/blobs/${DIGEST}`, 'repository:team/app:delete'],
  ['POST', '/v2/team/app/blobs/uploads/', 'repository:team/app:pull,push'],
  ['PATCH', UPLOAD, 'repository:team/app:pull,push'],
  ['PUT', `${UPLOAD}?digest=${DIGEST}`, 'repository:team/app:pull,push'],
  ['GET', UPLOAD, 'repository:team/app:pull,push'],
  ['DELETE', UPLOAD, 'repository:team/app:pull,push'],
  ['GET', `/v2/team/app/referrers/${DIGEST}`, 'repository:team/app:pull'],
  ['POST', `/v2/team/app/blobs/uploads/?mount=${DIGEST}&from=other/lib`, 'repository:team/app:pull,push repository:other/lib:pull'],
];

function send(reg: AuthRegistry, method: string, path: string, authorization?: string) {
  const req = reg.http[method.toLowerCase() as 'get'](path);
  if (authorization) req.set('Authorization', authorization);
  return req;
}

/** Signs a token with `key` (default the registry's) from claims that default to a valid one for alice. */
function forge(reg: AuthRegistry, claims: Record<string, unknown> = {}, options: jwt.SignOptions & { key?: KeyObject | Buffer } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const { key = reg.key.privateKey, ...sign } = options;
  const payload = { iss: 'wharf', sub: 'alice', aud: 'wharf', iat: now, nbf: now, exp: now + 300, jti: randomUUID(), access: [{ type: 'repository', name: 'alice/app', actions: ['pull'] }], ...claims };
  return jwt.sign(payload, key, { algorithm: 'ES256', keyid: reg.key.kid, ...sign });
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('challenges', () => {
  it.each(ENDPOINTS)('%s %s without a token: 401 with a Bearer challenge naming the scope, storage untouched', async (method, path, scope) => {
    const reg = await startAuthRegistry();
    const res = await send(reg, method, path);
    expectError(res, 401, 'UNAUTHORIZED');
    const realm = `${reg.url}/auth/token`;
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${realm}",service="wharf"${scope ? `,scope="${scope}"` : ''}`);
    expect(reg.storageCalls).toEqual([]);
  });

  it('an explicit auth.token.realm is the challenge realm', async () => {
    const reg = await startAuthRegistry({
      auth: ({ htpasswd, key }) => ({ token: { key, realm: 'https://registry.example.com/auth/token', service: 'registry.example.com' }, htpasswd: { path: htpasswd } }),
    });
    const res = await reg.http.get('/v2/a/b/tags/list');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="https://registry.example.com/auth/token",service="registry.example.com",scope="repository:a/b:pull"');
  });
});

describe('tokens on the registry', () => {
  it('a token holding the scope works for push and pull; GET /v2/ takes any valid token', async () => {
    const reg = await startAuthRegistry();
    const { token } = await getToken(reg.http, 'alice', ['repository:alice/app:pull,push']);
    const http = { ...reg.http } as typeof reg.http;
    for (const m of ['get', 'head', 'put', 'post', 'patch', 'delete'] as const) http[m] = ((url: string) => reg.http[m](url).set('Authorization', bearer(token))) as never;
    const image = await pushImage(http, 'alice/app', 'v1');
    const got = await http.get('/v2/alice/app/manifests/v1');
    expect(got.status).toBe(200);
    expect(got.headers['docker-content-digest']).toBe(image.digest);
    expect((await http.get('/v2/')).status).toBe(200);
  });

  it('a valid token short of an action the account can get: 401 insufficient_scope naming the missing scope', async () => {
    const reg = await startAuthRegistry();
    const { token } = await getToken(reg.http, 'alice', ['repository:alice/app:pull']);
    const res = await reg.http.post('/v2/alice/app/blobs/uploads/').set('Authorization', bearer(token));
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${reg.url}/auth/token",service="wharf",scope="repository:alice/app:pull,push",error="insufficient_scope"`);
    expect(reg.storageCalls).toEqual([]);
  });

  it('a token for a repository the account may never access: 403 DENIED, storage untouched', async () => {
    const reg = await startAuthRegistry();
    const { token } = await getToken(reg.http, 'alice', ['repository:bob/app:pull,push']);
    for (const [method, path] of [['GET', '/v2/bob/app/tags/list'], ['POST', '/v2/bob/app/blobs/uploads/'], ['DELETE', `/v2/team/app/manifests/${DIGEST}`]] as const) {
      expectError(await send(reg, method, path, bearer(token)), 403, 'DENIED');
    }
    expect(reg.storageCalls).toEqual([]);
  });

  it('Basic credentials of a known user are checked against the rules directly', async () => {
    const reg = await startAuthRegistry();
    const alice = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`;
    expect((await reg.http.post('/v2/alice/x/blobs/uploads/').set('Authorization', alice)).status).toBe(202);
    expectError(await reg.http.post('/v2/bob/x/blobs/uploads/').set('Authorization', alice), 403, 'DENIED');
  });
});

/** JOSE headers that are not what a JWT header must be: a kid that is not a string, an alg that is not one, no object at all. */
const MALFORMED_HEADERS: [kind: string, header: (reg: AuthRegistry) => unknown, reason: RegExp][] = [
  ['with a number as kid', () => ({ alg: 'ES256', kid: 123 }), /kid header is a number/],
  ['with an object as kid', () => ({ alg: 'ES256', kid: {} }), /kid header is an object/],
  ['with null as kid', () => ({ alg: 'ES256', kid: null }), /kid header is null/],
  ['with true as kid', () => ({ alg: 'ES256', kid: true }), /kid header is a boolean/],
  ['with a list as kid', (reg) => ({ alg: 'ES256', kid: [reg.key.kid] }), /kid header is a list/],
  ['with an object as alg', (reg) => ({ alg: { name: 'ES256' }, kid: reg.key.kid }), /algorithm "\{\\"name\\"/],
  ['whose header is a list', () => [1, 2], /malformed token/],
  ['whose header is null', () => null, /malformed token/],
  ['whose header is a string', () => 'ES256', /malformed token/],
];

/** `token` with its header replaced by `header` (signature kept). */
function withHeader(token: string, header: unknown): string {
  const [, payload, signature] = token.split('.');
  return `${b64(header)}.${payload}.${signature}`;
}

describe('rejected tokens', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const kinds: [string, (reg: AuthRegistry) => string, RegExp][] = [
    ['expired (past the leeway)', (reg) => forge(reg, { iat: Math.floor(Date.now() / 1000) - 400, nbf: Math.floor(Date.now() / 1000) - 400, exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['not yet valid (past the leeway)', (reg) => forge(reg, { nbf: Math.floor(Date.now() / 1000) + 120 }), /not active/],
    ['for another audience', (reg) => forge(reg, { aud: 'another-registry' }), /audience/],
    ['from another issuer', (reg) => forge(reg, { iss: 'someone-else' }), /issuer/],
    ['with alg none', (reg) => `${b64({ alg: 'none', typ: 'JWT', kid: reg.key.kid })}.${forge(reg).split('.')[1]}.`, /algorithm "none"/],
    ['HMAC-signed with the public key', (reg) => forge(reg, {}, { algorithm: 'HS256', key: Buffer.from(reg.key.publicKey.export({ type: 'spki', format: 'pem' })) }), /algorithm "HS256"/],
    ['with a tampered payload', (reg) => {
      const [h, , s] = forge(reg).split('.');
      return `${h}.${forge(reg, { access: [{ type: 'repository', name: 'alice/app', actions: ['*'] }] }, { key: other.privateKey }).split('.')[1]}.${s}`;
    }, /invalid signature/],
    ['with an unknown kid', (reg) => forge(reg, {}, { key: other.privateKey, keyid: 'AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:GGGG:HHHH:IIII:JJJJ:KKKK:LLLL' }), /unknown key id/],
    ['signed by another key under the registry\'s kid', (reg) => forge(reg, {}, { key: other.privateKey }), /invalid signature/],
    ['without a kid', (reg) => jwt.sign(claimsOf(forge(reg)), reg.key.privateKey, { algorithm: 'ES256' }), /no kid/],
    ...MALFORMED_HEADERS.map(([kind, header, reason]): (typeof kinds)[number] => [kind, (reg) => withHeader(forge(reg), header(reg)), reason]),
  ];

  function claimsOf(token: string): Record<string, unknown> {
    return jwt.decode(token) as Record<string, unknown>;
  }

  it('a well-formed forged token is accepted (the baseline the rejections differ from)', async () => {
    const reg = await startAuthRegistry();
    expect((await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(forge(reg)))).status).toBe(404);
  });

  it.each(kinds)('a token %s: 401 invalid_token, storage untouched', async (_kind, make, reason) => {
    const reg = await startAuthRegistry();
    const res = await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(make(reg)));
    expect(expectError(res, 401, 'UNAUTHORIZED')).toMatch(reason);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${reg.url}/auth/token",service="wharf",scope="repository:alice/app:pull",error="invalid_token"`);
    expect(reg.storageCalls).toEqual([]);
    expect(reg.logs.some((l) => l.msg === 'token rejected')).toBe(true);
    expect(reg.logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it.each(MALFORMED_HEADERS)('a refresh token %s: grant_type=refresh_token answers 401 JSON, nothing logged as an error', async (_kind, header, reason) => {
    const reg = await startAuthRegistry();
    const { refresh_token } = await getToken(reg.http, 'alice', [], { offline_token: 'true' });
    const res = await reg.http.post('/auth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: withHeader(refresh_token!, header(reg)) });
    expect(expectError(res, 401, 'UNAUTHORIZED')).toMatch(reason);
    expect(reg.logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('a token expired by less than the leeway is still accepted; one expired by more is not', async () => {
    const reg = await startAuthRegistry();
    const now = Math.floor(Date.now() / 1000);
    const recent = forge(reg, { iat: now - 300, nbf: now - 300, exp: now - 3 });
    expect((await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(recent))).status).toBe(404);
    reg.advance(30);
    expectError(await reg.http.get('/v2/alice/app/tags/list').set('Authorization', bearer(recent)), 401, 'UNAUTHORIZED');
  });

  it('a refresh token is not an access token', async () => {
    const reg = await startAuthRegistry();
    const { refresh_token } = await getToken(reg.http, 'alice', [], { offline_token: 'true' });
    const res = await reg.http.get('/v2/').set('Authorization', bearer(refresh_token!));
    expect(expectError(res, 401, 'UNAUTHORIZED')).toMatch(/audience/);
  });

  it('a blob pushed with one token is not readable with a token for another repository', async () => {
    const reg = await startAuthRegistry();
    const { token } = await getToken(reg.http, 'alice', ['repository:alice/app:pull,push']);
    const http = { ...reg.http } as typeof reg.http;
    for (const m of ['get', 'put', 'post'] as const) http[m] = ((url: string) => reg.http[m](url).set('Authorization', bearer(token))) as never;
    const blob = await pushBlob(http, 'alice/app');
    const other = await getToken(reg.http, 'alice', ['repository:alice/other:pull']);
    const res = await reg.http.get(`/v2/alice/app/blobs/${blob.digest}`).set('Authorization', bearer(other.token));
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
  });
});
