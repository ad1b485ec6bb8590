/**
 * The grant of an authorized request, kept with its response so that handlers can narrow what they
 * do (a mount's source, the catalog), and the express guard of the admin API.
 */
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { OPEN_GRANT, type Auth, type Grant } from './auth.js';
import { ADMIN } from './scope.js';

const grants = new WeakMap<ServerResponse, Grant>();

/** Keeps `grant` for the handlers of this request. */
export function setGrant(res: ServerResponse, grant: Grant): void {
  grants.set(res, grant);
}

/** The grant of this request; {@link OPEN_GRANT} when authentication is off. */
export function grantOf(res: ServerResponse): Grant {
  return grants.get(res) ?? OPEN_GRANT;
}

/**
 * Guards everything it is mounted on (the admin API under `/admin`): with authentication on, no
 * or bad credentials -> 401 with a challenge for `registry:admin:*`; an account without the
 * `admin` flag -> 403 DENIED; an admin -> next. Without authentication (`auth` undefined) `local`
 * decides (loopback clients only unless `admin.allowremote`, see src/routes/local-only.ts).
 */
export function adminGuard(auth: Auth | undefined, local: (req: Request) => void): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      if (auth) setGrant(res, await auth.authorize(req, { required: [ADMIN] }));
      else local(req);
    } catch (err) {
      req.resume();
      throw err;
    }
    next();
  };
}
