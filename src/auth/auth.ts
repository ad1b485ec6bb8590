/**
 * Authentication and authorization of registry requests, decided before any storage access
 * (Docker token authentication; CNCF Distribution's `token` and `htpasswd` access controllers):
 * {@link Auth.authorize} takes the access a request needs and returns a {@link Grant} or throws
 * 401 UNAUTHORIZED with a challenge, 403 DENIED, or 429 TOOMANYREQUESTS.
 *
 * - Token mode (`auth.token`): every request needs a valid `Bearer` token holding the needed
 *   access; no token or a bad one -> 401 with a `Bearer` challenge naming the scope; a valid token
 *   short of actions the account could get -> 401 `insufficient_scope` (the client asks for more);
 *   short of actions the rules never give that account -> 403 DENIED. Basic credentials of a known
 *   user are accepted too (checked against the rules directly), for scripts and the admin API.
 * - Basic mode (`auth.htpasswd` / `auth.users` without `auth.token`): Basic credentials are checked
 *   against the rules; requests without credentials (or with empty ones) pass when the rules let
 *   `anonymous` do what they need, else 401 with a `Basic` challenge. `GET /v2/` always answers 401
 *   to anonymous requests, as Distribution does: docker sends credentials only to a registry whose
 *   `/v2/` asked for them, so `docker login` and authenticated pushes need that challenge.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AuthConfig } from '../config/auth-schema.js';
import { basicChallenge, bearerChallenge, denied, unauthorized, type BearerError } from './challenge.js';
import { loadExternalKeys, loadSigningKey, type VerificationKey } from './keys.js';
import { AccessPolicy } from './policy.js';
import { holds, mergeAccess, missingAccess, type ResourceActions } from './scope.js';
import { LoginThrottle } from './throttle.js';
import { InvalidTokenError, TokenIssuer, TokenVerifier, type VerifiedToken } from './tokens.js';
import { UserStore } from './users.js';

/** The access a request needs: `required` or it is refused; `optional` is named in challenges but only narrows what happens (a mount's source). */
export interface AccessRequest {
  required: ResourceActions[];
  optional?: ResourceActions[];
}

/** What an authorized request may do beyond what it was checked for. */
export interface Grant {
  /** the account; undefined for anonymous */
  readonly account: string | undefined;
  /**
   * True when the request's own credential covers `action` on repository `name`: a token's `access`
   * claim (never more, whatever the account's rules would give), else (Basic or anonymous) the rules.
   * The sources of a mount, with or without `from`, are the repositories this allows `pull` on.
   */
  allows(name: string, action: string): boolean;
  /** True when the catalog shows repository `name` to this request. */
  listable(name: string): boolean;
}

/** The grant of a request when authentication is off: everything. */
export const OPEN_GRANT: Grant = { account: undefined, allows: () => true, listable: () => true };

/** A parsed `Authorization` header; `malformed` for Basic credentials that cannot be read (refused with 401, never anonymous). */
type Credential = { scheme: 'basic'; name: string; password: string } | { scheme: 'bearer'; token: string } | { scheme: 'malformed'; reason: string };

/** Base64 as RFC 7617 uses it (the standard alphabet; padding optional). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?={0,2}$/;

/**
 * Parses `Authorization: Basic <base64 user:pass>` (RFC 7617) or `Bearer <token>`; undefined
 * (anonymous) when absent, of another scheme, or Basic with an empty user name and password (what
 * skopeo and other containers/image clients send when they have no credentials: never a failed
 * login); `malformed` for Basic that is not base64 or whose decoded text has no `:`.
 */
export function parseAuthorization(header: string | undefined): Credential | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'basic' && !BASE64.test(value)) return { scheme: 'malformed', reason: 'the Basic credentials are not base64' };
  if (space <= 0 || value === '') return undefined;
  if (scheme === 'bearer') return { scheme, token: value };
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { scheme: 'malformed', reason: 'the decoded Basic credentials hold no ":" between user name and password' };
  const name = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  return name === '' && password === '' ? undefined : { scheme, name, password };
}

/** Options of {@link Auth}. */
export interface AuthOptions {
  logger: Logger;
  now: () => Date;
}

/**
 * The default signing key file: beside the filesystem storage root (never inside it, so it is no
 * object of the registry's storage namespace); undefined for other drivers (an in-process key).
 */
export function defaultKeyPath(config: Config): string | undefined {
  const root = config.storage.filesystem?.rootdirectory;
  return root === undefined ? undefined : join(dirname(resolve(root)), 'wharf-token-key.pem');
}

/** Token-mode parts: the built-in issuer and the verifier of every trusted key. */
interface TokenMode {
  service: string;
  realm: string | undefined;
  issuer: TokenIssuer;
  verifier: TokenVerifier;
}

/** The request authorizer and the state behind it (users, rules, keys, login throttle). */
export class Auth {
  readonly users: UserStore | undefined;
  readonly policy: AccessPolicy;
  readonly throttle: LoginThrottle;
  readonly token: TokenMode | undefined;
  private readonly basicRealm: string;
  private readonly logger: Logger;

  /**
   * Builds everything from the `auth` section: reads the htpasswd file and the signing key
   * (generating it when missing) and the external issuer's keys.
   * @throws ConfigError for an unreadable or non-bcrypt htpasswd file or an unusable key
   */
  constructor(config: Config, auth: AuthConfig, options: AuthOptions) {
    this.logger = options.logger;
    this.policy = new AccessPolicy(auth.acl, auth.groups);
    this.users =
      auth.htpasswd || auth.users.length > 0 ? new UserStore(auth.htpasswd?.path, auth.users, options.logger, (names) => this.warnWithoutOwnNamespace(names)) : undefined;
    this.throttle = new LoginThrottle(options.now);
    this.basicRealm = auth.htpasswd?.realm ?? 'wharf';
    const t = auth.token;
    if (t) {
      const keyPath = t.key ?? defaultKeyPath(config);
      const existed = keyPath !== undefined && existsSync(keyPath);
      const signing = loadSigningKey(keyPath);
      if (keyPath === undefined) options.logger.warn('auth.token.key is not set and the storage has no local root: the token signing key lives in this process only');
      else if (!existed) options.logger.info({ file: keyPath, kid: signing.kid }, 'generated the token signing key (mode 0600)');
      const own: VerificationKey = { kid: signing.kid, key: signing.publicKey, algorithms: [signing.algorithm], issuer: t.issuer, builtIn: true };
      const external = t.external ? loadExternalKeys(t.external, t.external.issuer) : [];
      this.token = {
        service: t.service,
        realm: t.external?.realm ?? t.realm,
        issuer: new TokenIssuer(signing, { issuer: t.issuer, service: t.service, expiration: t.expiration, refreshExpiration: t.refreshexpiration, now: options.now }),
        verifier: new TokenVerifier([own, ...external], { service: t.service, now: options.now }),
      };
    }
  }

  /** Logs a warning naming the accounts that a `${account}` rule can never match (they may have other rules, so they are not refused). */
  private warnWithoutOwnNamespace(names: string[]): void {
    const accounts = this.policy.withoutOwnNamespace(names);
    if (accounts.length === 0) return;
    this.logger.warn(
      { accounts: accounts.slice(0, 50), count: accounts.length },
      'these accounts get no repositories from the ${account} rules: repository names are lowercase letters, digits and . _ __ -, so their names (upper case, @, ...) can never match; give them other rules or lowercase names',
    );
  }

  /** The realm of `Bearer` challenges: configured, or this server's `/auth/token` as the client reached it. */
  realm(req: IncomingMessage): string {
    const scheme = (req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
    return this.token?.realm ?? `${scheme}://${req.headers.host ?? 'localhost'}/auth/token`;
  }

  /**
   * Checks a user's password, throttled per account and address; failures are logged (account,
   * address, reason; never the password).
   * @returns the account and the fingerprint of its password hash
   * @throws RegistryError TOOMANYREQUESTS while locked out; UNAUTHORIZED (with `challenge`) for wrong credentials
   */
  async login(name: string, password: string, address: string, challenge: string): Promise<{ account: string; credential: string }> {
    this.throttle.check(name, address);
    const result = this.users ? await this.users.check(name, password) : ({ ok: false, reason: 'unknown account' } as const);
    if (!result.ok) {
      this.throttle.failed(name, address);
      this.logger.warn({ account: name.slice(0, 128), address, reason: result.reason }, 'login failed');
      throw unauthorized(challenge, 'invalid username or password');
    }
    this.throttle.succeeded(name, address);
    return { account: name, credential: result.credential };
  }

  /**
   * Authorizes a request for `wanted`, before any storage access.
   * @throws RegistryError UNAUTHORIZED (with `WWW-Authenticate`), DENIED, or TOOMANYREQUESTS
   */
  async authorize(req: IncomingMessage, wanted: AccessRequest): Promise<Grant> {
    const required = mergeAccess(wanted.required);
    const named = mergeAccess([...wanted.required, ...(wanted.optional ?? [])]);
    const credential = parseAuthorization(req.headers.authorization);
    const address = req.socket.remoteAddress ?? 'unknown';
    if (this.token) {
      const challenge = (error?: BearerError) => bearerChallenge(this.realm(req), this.token!.service, named, error);
      if (credential?.scheme === 'malformed') throw unauthorized(challenge(), `malformed Authorization header: ${credential.reason}`, required);
      if (credential?.scheme === 'bearer') return this.authorizeToken(credential.token, required, challenge);
      if (credential?.scheme === 'basic' && this.users) {
        const { account } = await this.login(credential.name, credential.password, address, challenge());
        return this.ruleGrant(account, required);
      }
      throw unauthorized(challenge(), 'authentication required: get a token from the realm', required);
    }
    const challenge = basicChallenge(this.basicRealm);
    if (credential?.scheme === 'malformed') throw unauthorized(challenge, `malformed Authorization header: ${credential.reason}`, required);
    if (credential?.scheme === 'basic') {
      const { account } = await this.login(credential.name, credential.password, address, challenge);
      return this.ruleGrant(account, required);
    }
    if (required.length > 0 && missingAccess(this.policy.grant(undefined, required), required).length === 0) return this.ruleGrant(undefined, required);
    throw unauthorized(challenge, 'authentication required', required);
  }

  /** Token mode: verifies the token and checks its access claim. */
  private authorizeToken(raw: string, required: ResourceActions[], challenge: (error?: BearerError) => string): Grant {
    let token: VerifiedToken;
    try {
      token = this.token!.verifier.verifyAccess(raw);
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
      this.logger.info({ reason: err.message }, 'token rejected');
      throw unauthorized(challenge('invalid_token'), `invalid token: ${err.message}`, required);
    }
    const missing = missingAccess(token.access, required);
    if (missing.length > 0) {
      const obtainable = !token.builtIn || missingAccess(this.policy.grant(token.account, missing), missing).length === 0;
      if (!obtainable) throw denied(token.account, missing);
      throw unauthorized(challenge('insufficient_scope'), 'the token does not hold the access this request needs', missing);
    }
    const { account, access, builtIn } = token;
    return {
      account,
      allows: (name, action) => holds(access, 'repository', name, action),
      // the catalog (which the token holds registry:catalog:* for) shows what the account may pull
      listable: (name) => (builtIn ? this.policy.actions(account, name).has('pull') : true),
    };
  }

  /** The grant of an account checked against the rules directly (Basic credentials or anonymous). @throws RegistryError DENIED */
  private ruleGrant(account: string | undefined, required: ResourceActions[]): Grant {
    const missing = missingAccess(this.policy.grant(account, required), required);
    if (missing.length > 0) throw denied(account, missing);
    const allows = (name: string, action: string) => this.policy.actions(account, name).has(action);
    return { account, allows, listable: (name) => allows(name, 'pull') };
  }
}
