/**
 * The `/v2/` API on Node's own request and response: parses the path once ({@link parseV2Path}),
 * then dispatches through a method table per area, so an unsupported method is 405 UNSUPPORTED with
 * `Allow` (as Distribution's MethodHandler) and no router is built per request. No web framework sits
 * in this path: express's router and its request/response decoration cost about four fifths of a
 * manifest GET's CPU (docs/performance.md); express serves only the admin API and the token endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../oci/errors.js';
import { authorizeRoute } from './access.js';
import { getBase } from './base.js';
import { deleteBlob, getBlob } from './blobs.js';
import { pathOf, type Handler, type RouteDeps } from './context.js';
import { decodePath } from './decode-path.js';
import { methodNotAllowed, sendError } from './errors.js';
import { listCatalog, listReferrers, listTags } from './listings.js';
import { requireLocalWithoutAuth } from './local-only.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';
import { serveProxied } from './proxy.js';
import { parseV2Path, type V2Route } from './v2-path.js';

type MethodTable<A extends V2Route['area']> = Partial<Record<string, Handler<Extract<V2Route, { area: A }>>>>;

const TABLES: { [A in V2Route['area']]: MethodTable<A> } = {
  base: { GET: getBase, HEAD: getBase },
  catalog: { GET: listCatalog, HEAD: listCatalog },
  tags: { GET: listTags, HEAD: listTags },
  manifests: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  blobs: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  uploads: { POST: startUpload, PATCH: patchUpload, PUT: finishUpload, GET: uploadStatus, DELETE: cancelUpload },
  referrers: { GET: listReferrers, HEAD: listReferrers },
};

/** The methods an area serves, for `Allow` (RFC 9110 section 10.2.1) on a 405. */
export function allowedMethods(area: V2Route['area']): string {
  return Object.keys(TABLES[area]).join(', ');
}

/** True when `req` is for the `/v2/` API (its path starts with `/v2`). */
export function isV2Request(req: IncomingMessage): boolean {
  return req.url !== undefined && req.url.startsWith('/v2');
}

/**
 * The handler of every `/v2/` request: dispatches, and answers any error as the spec's JSON
 * ({@link sendError}).
 */
export function v2Handler(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    dispatch(req, res, deps).catch((err: unknown) => sendError(req, res, err));
  };
}

async function dispatch(req: IncomingMessage, res: ServerResponse, deps: RouteDeps): Promise<void> {
  const path = pathOf(req);
  const route = parseV2Path(decodePath(path));
  if (!route) {
    req.resume();
    throw new RegistryError('UNSUPPORTED', { status: 404, message: `no registry endpoint at ${path.slice(0, 200)}` });
  }
  const table = TABLES[route.area] as MethodTable<typeof route.area>;
  const handler = table[req.method ?? ''] as Handler<V2Route> | undefined;
  if (!handler) throw methodNotAllowed(req, allowedMethods(route.area));
  if (route.area === 'uploads' && route.session === undefined && req.method !== 'POST') {
    req.resume();
    throw new RegistryError('UNSUPPORTED', { message: `method ${req.method} needs an upload session in the URL`, headers: { Allow: 'POST' } });
  }
  if (req.method === 'DELETE' && (route.area === 'manifests' || route.area === 'blobs')) {
    try {
      requireLocalWithoutAuth(req, deps.config, 'deleting from the registry');
    } catch (err) {
      req.resume();
      throw err;
    }
  }
  await authorizeRoute(deps.auth, route, req, res);
  if (deps.proxy && (await serveProxied(req, res, route, deps))) return;
  await handler(req, res, route, deps);
}
