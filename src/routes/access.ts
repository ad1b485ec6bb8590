/**
 * The access each `/v2/` endpoint needs, as CNCF Distribution's method table decides it:
 * reads (`GET`, `HEAD`) need `pull`; writes need `pull,push`; `DELETE` of a manifest or blob needs
 * `delete`; the catalog needs `registry:catalog:*`; `GET /v2/` needs only a valid credential. A
 * cross-repository mount (`POST ?mount=&from=`) also names `pull` on the source, optionally: without
 * it the mount is not tried and the request opens an upload session instead.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessRequest, Auth } from '../auth/auth.js';
import { setGrant } from '../auth/middleware.js';
import { CATALOG, repositoryAccess } from '../auth/scope.js';
import { isRepositoryName } from '../oci/reference.js';
import { queryParam, repositoryOf } from './context.js';
import type { V2Route } from './v2-path.js';

/**
 * The access `req` needs on `route`.
 * @throws RegistryError NAME_INVALID for an invalid repository name (nothing to authorize)
 */
export function routeAccess(route: V2Route, req: IncomingMessage): AccessRequest {
  if (route.area === 'base') return { required: [] };
  if (route.area === 'catalog') return { required: [CATALOG] };
  const name = repositoryOf(route);
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (route.area === 'uploads') {
    const from = req.method === 'POST' && queryParam(req, 'mount') !== undefined ? queryParam(req, 'from') : undefined;
    const source = from !== undefined && isRepositoryName(from) && from !== name ? [repositoryAccess(from, 'pull')] : [];
    return { required: [repositoryAccess(name, 'pull', 'push')], optional: source };
  }
  if (read) return { required: [repositoryAccess(name, 'pull')] };
  if (req.method === 'DELETE') return { required: [repositoryAccess(name, 'delete')] };
  return { required: [repositoryAccess(name, 'pull', 'push')] };
}

/**
 * Authorizes `req` for `route` when authentication is on, keeping the grant for the handler;
 * on refusal the request body is drained before the error propagates.
 * @throws RegistryError UNAUTHORIZED | DENIED | TOOMANYREQUESTS | NAME_INVALID
 */
export async function authorizeRoute(auth: Auth | undefined, route: V2Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!auth) return;
  try {
    setGrant(res, await auth.authorize(req, routeAccess(route, req)));
  } catch (err) {
    req.resume();
    throw err;
  }
}
