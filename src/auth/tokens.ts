/**
 * Tokens as JWTs (Docker token authentication, "Token Authentication Implementation"): the
 * built-in server's issuer, and the verifier the registry runs on every `Bearer` request, which
 * pins everything: a known `kid`, an algorithm from that key's allow-list (never `none`, never an
 * HMAC), the key's issuer, the audience (= the service), `exp` and `nbf` with a small leeway, and
 * the shape of the `access` claim.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { SigningKey, VerificationKey } from './keys.js';
import type { ResourceActions } from './scope.js';

/** How far `exp` and `nbf` may be off (seconds): clocks of the issuer and the registry differ a little. */
export const LEEWAY_SECONDS = 10;

/** The audience suffix of refresh tokens, so a refresh token is never accepted as an access token. */
const REFRESH_AUDIENCE_SUFFIX = ':refresh';

/** A token as issued: the JWT, and its lifetime for the token endpoint's answer. */
export interface IssuedToken {
  token: string;
  /** lifetime in seconds */
  expiresIn: number;
  /** the `iat` claim as a date (whole seconds) */
  issuedAt: Date;
}

/** What a verified access token says. */
export interface VerifiedToken {
  /** `sub`: the account; undefined for an anonymous token (`sub` empty) */
  account: string | undefined;
  access: ResourceActions[];
  /** true when the built-in token server signed it (then the ACL knows the account) */
  builtIn: boolean;
}

/** What a verified refresh token says. */
export interface VerifiedRefreshToken {
  account: string;
  /** the fingerprint of the account's password hash when the token was issued */
  credential: string;
}

/** Why a token was refused; the message is logged (never the token) and sent as the error message. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

const accessClaim = z.array(z.strictObject({ type: z.string(), name: z.string(), actions: z.array(z.string()) }));

/** True for a JSON object (not null, not an array): the only valid JOSE header or JWT claims set. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names the JSON type of `value` for messages: `null`, `a list`, `an object`, `a number`, ... */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Signs access and refresh tokens with the built-in server's key. */
export class TokenIssuer {
  constructor(
    private readonly key: SigningKey,
    private readonly options: { issuer: string; service: string; expiration: number; refreshExpiration: number; now: () => Date },
  ) {}

  /**
   * An access token for `account` (undefined: anonymous, `sub` empty) holding `access`.
   * Claims: iss, sub, aud (= service), exp, nbf, iat, jti, access; header: alg, typ, kid.
   */
  accessToken(account: string | undefined, access: ResourceActions[]): IssuedToken {
    return this.sign({ sub: account ?? '', aud: this.options.service, access }, this.options.expiration);
  }

  /** A refresh token for `account`, bound to the fingerprint of its password hash (a new password voids it). */
  refreshToken(account: string, credential: string): IssuedToken {
    return this.sign({ sub: account, aud: this.options.service + REFRESH_AUDIENCE_SUFFIX, cred: credential }, this.options.refreshExpiration);
  }

  private sign(claims: Record<string, unknown>, lifetime: number): IssuedToken {
    const iat = Math.floor(this.options.now().getTime() / 1000);
    const payload = { iss: this.options.issuer, ...claims, iat, nbf: iat, exp: iat + lifetime, jti: randomUUID() };
    const token = jwt.sign(payload, this.key.privateKey, { algorithm: this.key.algorithm, keyid: this.key.kid });
    return { token, expiresIn: lifetime, issuedAt: new Date(iat * 1000) };
  }
}

/** Verifies tokens against a fixed set of keys, each bound to its issuer and algorithms. */
export class TokenVerifier {
  private readonly keys: Map<string, VerificationKey>;

  constructor(
    keys: VerificationKey[],
    private readonly options: { service: string; now: () => Date },
  ) {
    this.keys = new Map(keys.map((k) => [k.kid, k]));
  }

  /**
   * Verifies an access token.
   * @throws InvalidTokenError for anything short of a valid, current token from a trusted key
   */
  verifyAccess(token: string): VerifiedToken {
    const { key, claims } = this.verify(token, this.options.service);
    const access = accessClaim.safeParse(claims.access ?? []);
    if (!access.success) throw new InvalidTokenError('the token\'s access claim is not a list of {type, name, actions}');
    const sub = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
    return { account: sub, access: access.data, builtIn: key.builtIn };
  }

  /**
   * Verifies a refresh token of the built-in server.
   * @throws InvalidTokenError when it is not one, or is expired
   */
  verifyRefresh(token: string): VerifiedRefreshToken {
    const { key, claims } = this.verify(token, this.options.service + REFRESH_AUDIENCE_SUFFIX);
    if (!key.builtIn || typeof claims.sub !== 'string' || claims.sub === '' || typeof claims.cred !== 'string') {
      throw new InvalidTokenError('not a refresh token of this registry');
    }
    return { account: claims.sub, credential: claims.cred };
  }

  private verify(token: string, audience: string): { key: VerificationKey; claims: jwt.JwtPayload } {
    const decoded = jwt.decode(token, { complete: true }) as { header: unknown; payload: unknown } | null;
    if (!decoded || !isObject(decoded.header) || !isObject(decoded.payload)) throw new InvalidTokenError('malformed token');
    const { kid, alg } = decoded.header;
    if (kid === undefined) throw new InvalidTokenError('the token has no kid header');
    if (typeof kid !== 'string') throw new InvalidTokenError(`the token's kid header is ${jsonKind(kid)}, not a string`);
    const key = this.keys.get(kid);
    if (!key) throw new InvalidTokenError(`unknown key id ${JSON.stringify(kid.slice(0, 100))}`);
    if (typeof alg !== 'string' || !(key.algorithms as string[]).includes(alg)) {
      throw new InvalidTokenError(`algorithm ${JSON.stringify(String(typeof alg === 'string' ? alg : JSON.stringify(alg)).slice(0, 20))} is not allowed for this key (allowed: ${key.algorithms.join(', ')})`);
    }
    try {
      const claims = jwt.verify(token, key.key, {
        algorithms: key.algorithms,
        issuer: key.issuer,
        audience,
        clockTolerance: LEEWAY_SECONDS,
        clockTimestamp: Math.floor(this.options.now().getTime() / 1000),
      });
      if (typeof claims === 'string' || typeof claims.exp !== 'number') throw new InvalidTokenError('the token has no exp claim');
      return { key, claims };
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      throw new InvalidTokenError((err as Error).message);
    }
  }
}
