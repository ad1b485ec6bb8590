/**
 * `GET /ui/session`: who the web page is signed in as, and how it signs in. The page calls it before
 * anything else and after a login; it never answers with a `WWW-Authenticate` challenge, so a browser
 * never opens its own Basic login dialog over the page (the page has its own form).
 */
import type { Request, Response } from 'express';
import type { Auth } from '../auth/auth.js';
import { ADMIN, missingAccess } from '../auth/scope.js';
import { RegistryError } from '../oci/errors.js';

/** What `GET /ui/session` answers. */
export interface UiSession {
  /** `none` (no `auth` section: everyone is an admin), `basic` (HTTP Basic on every request) or `token` (the built-in token server) */
  auth: 'none' | 'basic' | 'token';
  /** token mode: the `service` to ask `/auth/token` for; null otherwise */
  service: string | null;
  /** the signed-in account; null when the request carries no credentials */
  account: string | null;
  /** true when the account may call the admin API (a rule with `admin: true`; everyone without `auth`) */
  admin: boolean;
}

/** The mode of an `auth` section, as the page signs in. */
function mode(auth: Auth): UiSession['auth'] {
  return auth.token ? 'token' : 'basic';
}

/**
 * The session of a request: its `Authorization` (Basic credentials or a Bearer token) checked as
 * any registry request's is, with nothing required beyond being valid.
 * @throws RegistryError 401 UNAUTHORIZED without a challenge header for wrong credentials or an invalid token; 429 TOOMANYREQUESTS while locked out
 */
export async function sessionOf(req: Request, auth: Auth | undefined): Promise<UiSession> {
  if (!auth) return { auth: 'none', service: null, account: null, admin: true };
  const base = { auth: mode(auth), service: auth.token?.service ?? null };
  if (!req.headers.authorization) return { ...base, account: null, admin: false };
  let account: string | undefined;
  try {
    account = (await auth.authorize(req, { required: [] })).account;
  } catch (err) {
    if (err instanceof RegistryError && err.status === 401) {
      throw new RegistryError('UNAUTHORIZED', { status: 401, message: err.message });
    }
    throw err;
  }
  const admin = missingAccess(auth.policy.grant(account, [ADMIN]), [ADMIN]).length === 0;
  return { ...base, account: account ?? null, admin };
}

/** The express handler of `GET /ui/session`: 200 {@link UiSession}, never cached. */
export function sessionHandler(auth: Auth | undefined): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const session = await sessionOf(req, auth);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json(session);
  };
}
