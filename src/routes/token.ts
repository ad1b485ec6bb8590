/**
 * The token endpoint of the built-in token server, `GET` and `POST /auth/token` (Docker token
 * authentication: "Requesting a Token" with HTTP Basic credentials, `service`, repeated `scope`,
 * `account`, `offline_token`; "OAuth2 Token Authentication" with a form of `grant_type=password`
 * or `grant_type=refresh_token`, space-separated `scope`, `access_type=offline`).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { parseAuthorization } from '../auth/auth.js';
import { basicChallenge, unauthorized } from '../auth/challenge.js';
import { parseScopes } from '../auth/scope.js';
import type { TokenRequester, TokenResponse, TokenServer } from '../auth/token-server.js';
import { RegistryError } from '../oci/errors.js';
import { bodyParserError } from './body-errors.js';

/** Every value of query or form parameter `key`. */
function values(source: Record<string, unknown>, key: string): string[] {
  const v = source[key];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function send(res: Response, body: TokenResponse): void {
  res.setHeader('Cache-Control', 'no-store');
  res.status(200).json(body);
}

const address = (req: Request) => req.socket.remoteAddress ?? 'unknown';

/** The largest form `POST /auth/token` reads, in bytes. */
export const FORM_LIMIT_BYTES = 64 * 1024;

const parseForm = express.urlencoded({ extended: false, limit: FORM_LIMIT_BYTES, type: () => true });

/**
 * Maps an error of the form parser to the registry error the client gets ({@link bodyParserError}):
 * 413 over {@link FORM_LIMIT_BYTES} or 1000 fields, 415 for an unknown content encoding or charset, 400 otherwise.
 */
export function formError(err: unknown): unknown {
  return bodyParserError(err, { what: 'the form', limits: `${FORM_LIMIT_BYTES} bytes and 1000 fields`, accepts: 'application/x-www-form-urlencoded in UTF-8' });
}

/** The form parser of `POST /auth/token`, its client errors mapped by {@link formError}. */
function formBody(req: Request, res: Response, next: NextFunction): void {
  parseForm(req, res, (err?: unknown) => next(err === undefined ? undefined : formError(err)));
}

/**
 * The router serving `/auth/token` for `server` (mounted at `/auth/token`).
 * Errors: 400 for a wrong service or a malformed form, 413 for a form over {@link FORM_LIMIT_BYTES},
 * 415 for an unknown content encoding or charset, 401 for wrong credentials or a bad refresh token,
 * 429 while an account or address is locked out; always the spec's JSON error body.
 */
export function tokenRouter(server: TokenServer): Router {
  const router = express.Router();
  router.get('/', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    server.checkService(values(query, 'service')[0]);
    const credential = parseAuthorization(req.headers.authorization);
    if (credential?.scheme === 'malformed') throw unauthorized(basicChallenge(server.service), `malformed Authorization header: ${credential.reason}`);
    const who: TokenRequester =
      credential?.scheme === 'basic' ? { kind: 'password', name: credential.name, password: credential.password, address: address(req) } : { kind: 'anonymous' };
    send(res, await server.issue(who, parseScopes(values(query, 'scope')), values(query, 'offline_token')[0] === 'true'));
  });
  router.post('/', formBody, async (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const field = (key: string) => values(form, key)[0];
    server.checkService(field('service'));
    const grantType = field('grant_type');
    let who: TokenRequester;
    if (grantType === 'password') {
      const name = field('username');
      const password = field('password');
      if (!name || password === undefined) throw new RegistryError('UNSUPPORTED', { status: 400, message: 'grant_type=password needs username and password' });
      who = { kind: 'password', name, password, address: address(req) };
    } else if (grantType === 'refresh_token') {
      const refreshToken = field('refresh_token');
      if (!refreshToken) throw new RegistryError('UNSUPPORTED', { status: 400, message: 'grant_type=refresh_token needs refresh_token' });
      who = { kind: 'refresh', refreshToken, address: address(req) };
    } else {
      throw new RegistryError('UNSUPPORTED', { status: 400, message: `unsupported grant_type ${JSON.stringify((grantType ?? '').slice(0, 50))}: use password or refresh_token` });
    }
    send(res, await server.issue(who, parseScopes(values(form, 'scope')), field('access_type') === 'offline'));
  });
  return router;
}
