/**
 * The harness of the authentication tests: a registry with an `auth` section on a loopback port
 * (memory storage: authorization is decided before storage, whatever the driver), an htpasswd
 * file, a signing key the tests can read (to forge tokens), a movable clock, a storage driver that
 * counts calls (to show that a refused request never reached storage) and a log that is kept.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import jwt from 'jsonwebtoken';
import supertest from 'supertest';
import { afterEach, expect } from 'vitest';
import { createApp } from '../../src/app.js';
import { libtrustKeyId } from '../../src/auth/keys.js';
import { validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { createHttpServer } from '../../src/server.js';
import { capturingLogger, type Client, type LogLine } from './harness.js';

/** The users of every auth test and their passwords. */
export const USERS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' } as const;

/** The rules of every auth test unless a test gives its own. */
export const RULES = [
  { group: 'admins', name: '*', actions: ['*'], admin: true },
  { account: 'anonymous', name: 'public/*', actions: ['pull'] },
  { account: 'authenticated', name: 'public/*', actions: ['pull'] },
  { account: 'authenticated', name: '${account}/*', actions: ['*'] },
  { group: 'team', name: 'team/*', actions: ['pull', 'push'] },
  { account: 'authenticated', name: 'team/*', actions: ['pull'] },
];

/** An htpasswd line for `name` with a `$2y$` bcrypt hash (the form Apache's `htpasswd -B` writes), cost 4 to keep tests fast. */
export function htpasswdLine(name: string, password: string): string {
  return `${name}:${bcrypt.hashSync(password, 4).replace(/^\$2[ab]\$/, '$2y$')}`;
}

/** A running registry with authentication. */
export interface AuthRegistry {
  http: Client;
  url: string;
  config: Config;
  /** the built-in signing key (EC P-256) and its libtrust key id */
  key: { privateKey: KeyObject; publicKey: KeyObject; kid: string };
  /** storage calls made so far */
  storageCalls: string[];
  /** log lines written so far */
  logs: LogLine[];
  /** the directory holding the htpasswd file and the key */
  dir: string;
  htpasswd: string;
  /** moves the registry's clock by `seconds` */
  advance(seconds: number): void;
}

/** Options of {@link startAuthRegistry}. */
export interface AuthRegistryOptions {
  /** the `auth` section; default: token mode with the users, groups and {@link RULES} */
  auth?: (files: { htpasswd: string; key: string; dir: string }) => Record<string, unknown>;
}

/** Wraps a driver so that every call is recorded in `calls` (method names). */
function counting(inner: StorageDriver, calls: string[]): StorageDriver {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const running = new Set<Server>();
const dirs: string[] = [];
afterEach(async () => {
  for (const server of running) {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
  running.clear();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Starts a registry with authentication for the current test (stopped after it). */
export async function startAuthRegistry(options: AuthRegistryOptions = {}): Promise<AuthRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-auth-'));
  dirs.push(dir);
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `${Object.entries(USERS).map(([u, p]) => htpasswdLine(u, p)).join('\n')}\n`);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyFile = join(dir, 'token.pem');
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const auth = options.auth?.({ htpasswd, key: keyFile, dir }) ?? {
    token: { service: 'wharf', issuer: 'wharf', key: keyFile },
    htpasswd: { path: htpasswd },
    groups: { admins: ['carol'], team: ['alice'] },
    acl: RULES,
  };
  const config = validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0' }, storage: { inmemory: {} }, auth });
  const storageCalls: string[] = [];
  const { logger, lines } = capturingLogger();
  let offset = 0;
  const app = createApp({ config, storage: counting(new MemoryDriver(), storageCalls), logger, now: () => new Date(Date.now() + offset * 1000) });
  const server = createHttpServer(app, config.http);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  running.add(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    http: supertest(server),
    url,
    config,
    key: { privateKey, publicKey, kid: libtrustKeyId(publicKey) },
    storageCalls,
    logs: lines,
    dir,
    htpasswd,
    advance: (seconds) => void (offset += seconds),
  };
}

/** The `Authorization: Basic` value for `name:password`. */
export function basic(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

/**
 * A GET of `path` on the registry at `url` sent from loopback address `from` (e.g. `127.0.0.7`: on
 * Linux all of 127/8 is local), for what depends on the client's address (the login throttle).
 */
export function getFrom(url: string, from: string, path: string, authorization?: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { localAddress: from, headers: authorization ? { Authorization: authorization } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Asks the token endpoint (GET) for `scopes` as `user` (anonymous when undefined); asserts 200 and returns the body. */
export async function getToken(http: Client, user: keyof typeof USERS | undefined, scopes: string[], extra: Record<string, string> = {}) {
  const query = new URLSearchParams({ service: 'wharf', ...extra });
  for (const s of scopes) query.append('scope', s);
  const req = http.get(`/auth/token?${query}`);
  if (user) req.set('Authorization', basic(user, USERS[user]));
  const res = await req;
  expect(res.status, res.text).toBe(200);
  return res.body as { token: string; access_token: string; expires_in: number; issued_at: string; refresh_token?: string; scope: string };
}

/** The claims of a JWT, unverified. */
export function claims(token: string): jwt.JwtPayload & { access: { type: string; name: string; actions: string[] }[] } {
  return jwt.decode(token) as jwt.JwtPayload & { access: { type: string; name: string; actions: string[] }[] };
}

/** The `Authorization: Bearer` value of a token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
