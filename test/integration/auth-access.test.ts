/**
 * What the rules let through: a blob linked only in a repository the account cannot read is never
 * served (directly, by a mount with or without `from`), the catalog lists only what the account
 * may pull, the admin guard, Basic mode on the registry itself, and an external token issuer.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { libtrustKeyId } from '../../src/auth/keys.js';
import { validate } from '../../src/config/load.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { basic, bearer, getToken, RULES, startAuthRegistry, USERS, type AuthRegistry } from './auth-harness.js';
import { expectError, pushBlob, pushImage, raw, type Client } from './harness.js';
import supertest from 'supertest';
import { pino } from 'pino';

/** A client whose every request carries `authorization`. */
function as(reg: AuthRegistry, authorization: string): Client {
  const http = { ...reg.http } as Client;
  for (const m of ['get', 'head', 'put', 'post', 'patch', 'delete'] as const) http[m] = ((url: string) => reg.http[m](url).set('Authorization', authorization)) as never;
  return http;
}

/** A client holding a token of `user` for `scopes`. */
async function withToken(reg: AuthRegistry, user: keyof typeof USERS | undefined, scopes: string[]): Promise<Client> {
  return as(reg, bearer((await getToken(reg.http, user, scopes)).token));
}

describe('a blob linked only in a repository the account cannot read', () => {
  it('is never served: not by digest elsewhere, not by a mount from it, not by a mount without from', async () => {
    const reg = await startAuthRegistry();
    const bob = await withToken(reg, 'bob', ['repository:bob/private:pull,push']);
    const secret = await pushBlob(bob, 'bob/private', Buffer.from('bob-only'));

    const alice = await withToken(reg, 'alice', ['repository:alice/app:pull,push', 'repository:bob/private:pull']);
    expectError(await alice.get(`/v2/bob/private/blobs/${secret.digest}`), 403, 'DENIED');
    expectError(await alice.get(`/v2/alice/app/blobs/${secret.digest}`), 404, 'NAME_UNKNOWN');

    // from= names a repository alice cannot pull: no mount, a normal upload session instead (202)
    const fromMount = await alice.post(`/v2/alice/app/blobs/uploads/?mount=${secret.digest}&from=bob/private`);
    expect(fromMount.status).toBe(202);
    expect(fromMount.headers.location).toMatch(/^\/v2\/alice\/app\/blobs\/uploads\//);
    // no from: the search covers only repositories alice may pull
    const anyMount = await alice.post(`/v2/alice/app/blobs/uploads/?mount=${secret.digest}`);
    expect(anyMount.status).toBe(202);
    expectError(await alice.get(`/v2/alice/app/blobs/${secret.digest}`), 404, 'NAME_UNKNOWN');
    expectError(await alice.head(`/v2/alice/app/blobs/${secret.digest}`), 404, 'NAME_UNKNOWN');

    // a forged token claiming pull on bob/private is not signed by the registry
    const forged = jwt.sign(
      { iss: 'wharf', sub: 'alice', aud: 'wharf', exp: Math.floor(Date.now() / 1000) + 60, access: [{ type: 'repository', name: 'bob/private', actions: ['pull'] }] },
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
      { algorithm: 'ES256', keyid: reg.key.kid },
    );
    expectError(await reg.http.get(`/v2/bob/private/blobs/${secret.digest}`).set('Authorization', bearer(forged)), 401, 'UNAUTHORIZED');
  });

  it('is mounted when the account may pull the source (from, and without from)', async () => {
    const reg = await startAuthRegistry();
    const bob = await withToken(reg, 'bob', ['repository:bob/lib:pull,push']);
    const shared = await pushBlob(bob, 'bob/lib', Buffer.from('shared'));
    const team = await withToken(reg, 'alice', ['repository:team/base:pull,push']);
    const inTeam = await pushBlob(team, 'team/base', Buffer.from('team-layer'));

    // bob may pull team/* (rules), so both mounts succeed
    const bobMount = await withToken(reg, 'bob', ['repository:bob/app:pull,push', 'repository:team/base:pull']);
    const mounted = await bobMount.post(`/v2/bob/app/blobs/uploads/?mount=${inTeam.digest}&from=team/base`);
    expect(mounted.status, mounted.text).toBe(201);
    expect((await raw(bobMount.get(`/v2/bob/app/blobs/${inTeam.digest}`))).body.toString()).toBe('team-layer');
    // a token without pull on the source: upload session, not 401
    const noSource = await withToken(reg, 'bob', ['repository:bob/other:pull,push']);
    expect((await noSource.post(`/v2/bob/other/blobs/uploads/?mount=${inTeam.digest}&from=team/base`)).status).toBe(202);
    // without from, the candidates are what the token grants pull on (bob/lib here), not all the account's rules allow
    const withLib = await withToken(reg, 'bob', ['repository:bob/other:pull,push', 'repository:bob/lib:pull']);
    const anywhere = await withLib.post(`/v2/bob/other/blobs/uploads/?mount=${shared.digest}`);
    expect(anywhere.status, anywhere.text).toBe(201);
  });

  // Outside testing: a token scoped only to bob/scoped could mount without `from` a layer only team/secret
  // links (bob may pull team/* by the rules, but this token grants nothing there) and then read its bytes.
  it('a mount without from takes the blob only from repositories the token itself grants pull on', async () => {
    const reg = await startAuthRegistry();
    const alice = await withToken(reg, 'alice', ['repository:team/secret:pull,push']);
    const secret = await pushBlob(alice, 'team/secret', Buffer.from('team-secret-layer'));
    const scoped = await withToken(reg, 'bob', ['repository:bob/scoped:pull,push']);
    const mount = await scoped.post(`/v2/bob/scoped/blobs/uploads/?mount=${secret.digest}`);
    expect(mount.status, mount.text).toBe(202);
    expect(mount.headers.location).toMatch(/^\/v2\/bob\/scoped\/blobs\/uploads\//);
    expectError(await scoped.get(`/v2/bob/scoped/blobs/${secret.digest}`), 404, 'NAME_UNKNOWN');
    // Basic credentials carry no scope: the account's rules decide (bob may pull team/*)
    const basicMount = await as(reg, basic('bob', USERS.bob)).post(`/v2/bob/scoped/blobs/uploads/?mount=${secret.digest}`);
    expect(basicMount.status, basicMount.text).toBe(201);
  });
});

describe('the catalog', () => {
  it('lists only the repositories the account may pull; anonymous sees public ones', async () => {
    const reg = await startAuthRegistry();
    const carol = await withToken(reg, 'carol', ['repository:public/tool:push,pull', 'repository:bob/app:push,pull', 'repository:alice/app:push,pull', 'repository:team/x:push,pull']);
    for (const repo of ['public/tool', 'bob/app', 'alice/app', 'team/x']) await pushBlob(carol, repo);
    const list = async (user: keyof typeof USERS | undefined) =>
      (await (await withToken(reg, user, ['registry:catalog:*'])).get('/v2/_catalog')).body.repositories as string[];
    expect(await list('alice')).toEqual(['alice/app', 'public/tool', 'team/x']);
    expect(await list('bob')).toEqual(['bob/app', 'public/tool', 'team/x']);
    expect(await list('carol')).toEqual(['alice/app', 'bob/app', 'public/tool', 'team/x']);
    expect(await list(undefined)).toEqual(['public/tool']);
  });
});

describe('the admin guard on /admin', () => {
  it('anonymous: 401 with a challenge for registry:admin:*; non-admin: 403; admin: on to the (unknown) route, 404 JSON', async () => {
    const reg = await startAuthRegistry();
    const anon = await reg.http.get('/admin/v1/anything');
    expectError(anon, 401, 'UNAUTHORIZED');
    expect(anon.headers['www-authenticate']).toBe(`Bearer realm="${reg.url}/auth/token",service="wharf",scope="registry:admin:*"`);
    const alice = await withToken(reg, 'alice', ['registry:admin:*']);
    expectError(await alice.get('/admin/v1/anything'), 403, 'DENIED');
    expectError(await as(reg, basic('alice', USERS.alice)).post('/admin/v1/anything'), 403, 'DENIED');
    const carol = await withToken(reg, 'carol', ['registry:admin:*']);
    expectError(await carol.get('/admin/v1/anything'), 404, 'UNSUPPORTED');
    expectError(await as(reg, basic('carol', USERS.carol)).get('/admin/v1/anything'), 404, 'UNSUPPORTED');
    // a token of carol's for something else is short of the admin scope she can get: ask for more
    const narrow = await withToken(reg, 'carol', ['repository:carol/x:pull']);
    expect((await narrow.get('/admin/v1/anything')).headers['www-authenticate']).toMatch(/scope="registry:admin:\*",error="insufficient_scope"/);
  });

  it('guards every admin endpoint: non-admins get 403 DENIED and nothing is deleted; the admin gets the answers', async () => {
    const reg = await startAuthRegistry();
    const bob = await withToken(reg, 'bob', ['repository:bob/app:pull,push']);
    await pushImage(bob, 'bob/app', '1.0');
    const alice = await withToken(reg, 'alice', ['registry:admin:*']);
    const carol = await withToken(reg, 'carol', ['registry:admin:*']);
    const calls: [keyof Client, string][] = [
      ['get', '/admin/v1/repositories'],
      ['get', '/admin/v1/repositories/bob/app/tags'],
      ['get', '/admin/v1/storage'],
      ['delete', '/admin/v1/repositories/bob/app/tags/1.0'],
      ['delete', '/admin/v1/repositories/bob/app'],
      ['post', '/admin/v1/import'],
    ];
    for (const [method, path] of calls) {
      expectError(await (reg.http[method] as Client['get'])(path), 401, 'UNAUTHORIZED');
      expectError(await (alice[method] as Client['get'])(path), 403, 'DENIED');
      expectError(await (as(reg, basic('bob', USERS.bob))[method] as Client['get'])(path), 403, 'DENIED');
    }
    expect((await bob.get('/v2/bob/app/manifests/1.0')).status).toBe(200);
    const tags = await carol.get('/admin/v1/repositories/bob/app/tags');
    expect(tags.status).toBe(200);
    expect(tags.body.tags.map((t: { tag: string }) => t.tag)).toEqual(['1.0']);
    expect((await carol.delete('/admin/v1/repositories/bob/app/tags/1.0')).status).toBe(202);
    expectError(await bob.get('/v2/bob/app/manifests/1.0'), 404, 'MANIFEST_UNKNOWN');
  });

  it('without an auth section, /admin is not guarded (the unknown route is a 404 JSON)', async () => {
    const config = validate({ log: { level: 'silent' }, storage: { inmemory: {} } });
    const http = supertest(createApp({ config, storage: new MemoryDriver(), logger: pino({ level: 'silent' }) }));
    expectError(await http.get('/admin/v1/anything'), 404, 'UNSUPPORTED');
    expect((await http.get('/auth/token')).status).toBe(404);
  });
});

describe('Basic mode (auth.htpasswd without auth.token)', () => {
  const basicMode = ({ htpasswd }: { htpasswd: string }) => ({ htpasswd: { path: htpasswd, realm: 'Wharf test' }, groups: { admins: ['carol'], team: ['alice'] }, acl: RULES });

  it('GET /v2/ without credentials: 401 with a Basic challenge; with them: 200; no token endpoint', async () => {
    const reg = await startAuthRegistry({ auth: basicMode });
    const res = await reg.http.get('/v2/');
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Basic realm="Wharf test",charset="UTF-8"');
    expect((await reg.http.get('/v2/').set('Authorization', basic('alice', USERS.alice))).status).toBe(200);
    expect((await reg.http.get('/auth/token')).status).toBe(404);
  });

  it('applies the same rules: own namespace pushed, anonymous pull of public/*, other namespaces refused', async () => {
    const reg = await startAuthRegistry({ auth: basicMode });
    const alice = as(reg, basic('alice', USERS.alice));
    const carol = as(reg, basic('carol', USERS.carol));
    await pushImage(alice, 'alice/app', 'v1');
    const pub = await pushImage(carol, 'public/tool', 'v1');
    expect((await reg.http.get('/v2/public/tool/manifests/v1')).headers['docker-content-digest']).toBe(pub.digest);
    const anonPush = await reg.http.post('/v2/public/tool/blobs/uploads/');
    expectError(anonPush, 401, 'UNAUTHORIZED');
    expect(anonPush.headers['www-authenticate']).toMatch(/^Basic /);
    expectError(await reg.http.get('/v2/alice/app/manifests/v1'), 401, 'UNAUTHORIZED');
    expectError(await alice.post('/v2/bob/app/blobs/uploads/'), 403, 'DENIED');
    expectError(await as(reg, basic('alice', 'wrong')).get('/v2/alice/app/manifests/v1'), 401, 'UNAUTHORIZED');
    expectError(await alice.get('/admin/v1/x'), 403, 'DENIED');
    expectError(await carol.get('/admin/v1/x'), 404, 'UNSUPPORTED');
  });

  it('empty Basic credentials (what skopeo sends without any) are anonymous: public pulls pass and no failed login is counted', async () => {
    const reg = await startAuthRegistry({ auth: basicMode });
    const pub = await pushImage(as(reg, basic('carol', USERS.carol)), 'public/tool', 'v1');
    const empty = as(reg, basic('', ''));
    for (let i = 0; i < 8; i++) expect((await empty.get('/v2/public/tool/manifests/v1')).headers['docker-content-digest']).toBe(pub.digest);
    const ping = await empty.get('/v2/');
    expectError(ping, 401, 'UNAUTHORIZED');
    expect(ping.headers['www-authenticate']).toBe('Basic realm="Wharf test",charset="UTF-8"');
    expectError(await empty.get('/v2/alice/app/tags/list'), 401, 'UNAUTHORIZED');
    expect((await as(reg, basic('alice', USERS.alice)).get('/v2/')).status).toBe(200);
    expect(reg.logs.filter((l) => l.msg === 'login failed')).toEqual([]);
    const broken = await as(reg, 'Basic !!!!').get('/v2/public/tool/manifests/v1');
    expect(expectError(broken, 401, 'UNAUTHORIZED')).toMatch(/^malformed Authorization header/);
    expect(broken.headers['www-authenticate']).toBe('Basic realm="Wharf test",charset="UTF-8"');
  });

  it('reloads the htpasswd file when it changes', async () => {
    const reg = await startAuthRegistry({ auth: basicMode });
    expectError(await reg.http.get('/v2/').set('Authorization', basic('dave', 'dave-pw')), 401, 'UNAUTHORIZED');
    const { htpasswdLine } = await import('./auth-harness.js');
    await writeFile(reg.htpasswd, `${htpasswdLine('dave', 'dave-pw')}\n`);
    expect((await reg.http.get('/v2/').set('Authorization', basic('dave', 'dave-pw'))).status).toBe(200);
    await writeFile(reg.htpasswd, 'dave:$apr1$abc$def\n');
    expect((await reg.http.get('/v2/').set('Authorization', basic('dave', 'dave-pw'))).status).toBe(200);
    expect(reg.logs.some((l) => l.msg.startsWith('htpasswd file not reloaded') && String(l.error).includes('htpasswd -B'))).toBe(true);
  });
});

describe('an external token issuer (auth.token.external)', () => {
  it('verifies its tokens with the JWKS file, names its realm in challenges, and still accepts built-in tokens', async () => {
    const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const reg = await startAuthRegistry({
      auth: ({ htpasswd, key, dir }) => {
        const jwks = join(dir, 'jwks.json');
        writeFileSync(jwks, JSON.stringify({ keys: [{ ...issuerKey.publicKey.export({ format: 'jwk' }), kid: 'issuer-key-1', use: 'sig', alg: 'RS256' }] }));
        return { token: { key, service: 'wharf', external: { realm: 'https://auth.example.com/token', issuer: 'corp-auth', jwks } }, htpasswd: { path: htpasswd }, groups: { admins: ['carol'], team: ['alice'] }, acl: RULES };
      },
    });
    const challenge = await reg.http.get('/v2/x/y/tags/list');
    expect(challenge.headers['www-authenticate']).toBe('Bearer realm="https://auth.example.com/token",service="wharf",scope="repository:x/y:pull"');
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, kid = 'issuer-key-1') =>
      jwt.sign({ iss: 'corp-auth', sub: 'svc', aud: 'wharf', iat: now, exp: now + 60, jti: randomUUID(), access: [{ type: 'repository', name: 'x/y', actions: ['pull'] }], ...claims }, issuerKey.privateKey, { algorithm: 'RS256', keyid: kid });
    expect((await reg.http.get('/v2/x/y/tags/list').set('Authorization', bearer(sign({})))).status).toBe(404);
    expectError(await reg.http.get('/v2/x/y/tags/list').set('Authorization', bearer(sign({ iss: 'wharf' }))), 401, 'UNAUTHORIZED');
    expectError(await reg.http.get('/v2/x/y/tags/list').set('Authorization', bearer(sign({}, libtrustKeyId(issuerKey.publicKey)))), 401, 'UNAUTHORIZED');
    const short = await reg.http.post('/v2/x/y/blobs/uploads/').set('Authorization', bearer(sign({})));
    expect(short.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    const builtIn = await getToken(reg.http, 'alice', ['repository:alice/z:pull']);
    expect((await reg.http.get('/v2/alice/z/tags/list').set('Authorization', bearer(builtIn.token))).status).toBe(404);
  });
});
