/**
 * The web page's server side (src/ui/): `/` redirects to `/ui/`, the bundle built by esbuild is
 * served with a strict Content-Security-Policy, `/ui/session` tells the page who it is signed in as
 * without ever sending a challenge (no browser login dialog), and `GET /admin/v1/retention` gives
 * the cleanup view the rules in force, to admins only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { validate } from '../../src/config/load.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { bundleUi } from '../../src/ui/bundle.js';
import { CONTENT_SECURITY_POLICY } from '../../src/ui/serve.js';
import { basic, startAuthRegistry, USERS } from './auth-harness.js';

let dir: string;
let jsBytes: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-ui-'));
  jsBytes = await bundleUi(dir);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** An app without authentication serving the page from `uiDir`. */
function openApp(uiDir: string, gc: Record<string, unknown> = {}) {
  const config = validate({ log: { level: 'silent' }, storage: { inmemory: {} }, gc });
  return supertest(createApp({ config, storage: new MemoryDriver(), logger: pino({ level: 'silent' }), uiDir }));
}

describe('the page', () => {
  it('is reached from / and /ui, with a strict Content-Security-Policy', async () => {
    const http = openApp(dir);
    const root = await http.get('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    const bare = await http.get('/ui');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/ui/');
    const page = await http.get('/ui/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.text).toContain('<script type="module" src="/ui/app.js"></script>');
    expect(page.text).not.toMatch(/https?:\/\//); // nothing from another origin
  });

  it('serves one bundle of Preact and the page, under 150 KiB gzipped, that fetches nothing from elsewhere', async () => {
    const http = openApp(dir);
    const js = await http.get('/ui/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(Buffer.byteLength(js.text)).toBe(jsBytes);
    expect(gzipSync(js.text).length).toBeLessThan(150 * 1024);
    expect(js.text).not.toMatch(/\bimport\s*\(|from\s*["']https?:/); // no dynamic or remote imports
    const css = await http.get('/ui/app.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers 404 in the spec JSON for other files, and says to build when the page is not built', async () => {
    const missing = await openApp(dir).get('/ui/secrets.txt');
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].message).toContain('no file secrets.txt');
    const unbuilt = await openApp(join(dir, 'nowhere')).get('/ui/');
    expect(unbuilt.status).toBe(404);
    expect(unbuilt.body.errors[0].message).toContain('npm run build');
  });
});

describe('GET /ui/session', () => {
  it('without an auth section: everyone is an admin', async () => {
    const res = await openApp(dir).get('/ui/session');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ auth: 'none', service: null, account: null, admin: true });
  });

  it('in token mode: the service, the account from Basic credentials or a token, and whether it is an admin', async () => {
    const reg = await startAuthRegistry();
    expect((await reg.http.get('/ui/session')).body).toEqual({ auth: 'token', service: 'wharf', account: null, admin: false });
    const carol = await reg.http.get('/ui/session').set('Authorization', basic('carol', USERS.carol));
    expect(carol.body).toEqual({ auth: 'token', service: 'wharf', account: 'carol', admin: true });
    const token = await reg.http.post('/auth/token').type('form').send({ grant_type: 'password', username: 'alice', password: USERS.alice, service: 'wharf', access_type: 'offline' });
    expect(token.status).toBe(200);
    const alice = await reg.http.get('/ui/session').set('Authorization', `Bearer ${token.body.token}`);
    expect(alice.body).toEqual({ auth: 'token', service: 'wharf', account: 'alice', admin: false });
  });

  it('refuses wrong credentials with 401 and no challenge, so the browser opens no login dialog', async () => {
    const reg = await startAuthRegistry();
    const wrong = await reg.http.get('/ui/session').set('Authorization', basic('alice', 'wrong'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBeUndefined();
    expect(wrong.body.errors[0].code).toBe('UNAUTHORIZED');
    const forged = await reg.http.get('/ui/session').set('Authorization', 'Bearer not.a.token');
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toBeUndefined();
  });

  it('in Basic mode: the account and its admin flag', async () => {
    const reg = await startAuthRegistry({ auth: ({ htpasswd }) => ({ htpasswd: { path: htpasswd }, acl: [{ account: 'carol', name: '*', actions: ['*'], admin: true }] }) });
    expect((await reg.http.get('/ui/session')).body).toEqual({ auth: 'basic', service: null, account: null, admin: false });
    expect((await reg.http.get('/ui/session').set('Authorization', basic('carol', USERS.carol))).body.admin).toBe(true);
    expect((await reg.http.get('/ui/session').set('Authorization', basic('bob', USERS.bob))).body).toMatchObject({ account: 'bob', admin: false });
  });
});

describe('GET /admin/v1/retention', () => {
  it('answers the gc settings and retention rules in force, durations in ms', async () => {
    const gc = { grace: '10m', deleteuntagged: true, interval: '6h', retention: [{ name: 'ci/*', keeplast: 5, keeptags: '^v[0-9]', olderthan: '720h' }, { name: 'tmp/**', deleteuntagged: true }] };
    const res = await openApp(dir, gc).get('/admin/v1/retention');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      rules: [
        { name: 'ci/*', keepLast: 5, keepTags: '^v[0-9]', olderThanMs: 720 * 3_600_000, deleteUntagged: false },
        { name: 'tmp/**', keepLast: null, keepTags: null, olderThanMs: null, deleteUntagged: true },
      ],
      deleteUntagged: true,
      graceMs: 600_000,
      uploadPurgeAgeMs: 86_400_000,
      intervalMs: 6 * 3_600_000,
    });
  });

  it('is for admins only', async () => {
    const reg = await startAuthRegistry();
    expect((await reg.http.get('/admin/v1/retention').set('Authorization', basic('alice', USERS.alice))).status).toBe(403);
    expect((await reg.http.get('/admin/v1/retention')).status).toBe(401);
    const carol = await reg.http.get('/admin/v1/retention').set('Authorization', basic('carol', USERS.carol));
    expect(carol.status).toBe(200);
    expect(carol.body.rules).toEqual([]);
  });
});
