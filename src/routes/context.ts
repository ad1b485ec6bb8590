/**
 * What every `/v2/` route handler receives: Node's request and response (no framework: see
 * src/routes/v2.ts), the parsed route and the app's dependencies; plus the small request and
 * response helpers the handlers share.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Auth } from '../auth/auth.js';
import type { Config } from '../config/schema.js';
import type { EventRecorder } from '../observability/notifications/events.js';
import type { PullThroughCache } from '../proxy/cache.js';
import { RegistryError } from '../oci/errors.js';
import { ClientGoneError } from './errors.js';
import { parseRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { Registry } from '../registry/registry.js';

/** The dependencies handlers use. */
export interface RouteDeps {
  config: Config;
  registry: Registry;
  logger: Logger;
  /** authentication and authorization; undefined when the configuration has no `auth` section */
  auth?: Auth;
  /** the pull-through cache; undefined when the configuration has no `proxy` section */
  proxy?: PullThroughCache;
  /** where push, pull, mount and delete events go (notifications); undefined when none is configured */
  events?: EventRecorder;
}

/** A handler of one method of one area; throws {@link RegistryError} for the error middleware. */
export type Handler<R> = (req: IncomingMessage, res: ServerResponse, route: R, deps: RouteDeps) => Promise<void> | void;

/**
 * A signal that aborts with {@link ClientGoneError} when the client closes the connection before its
 * request body was read whole; already aborted when that happened before this call.
 */
export function requestSignal(req: IncomingMessage): AbortSignal {
  const ac = new AbortController();
  const gone = () => {
    if (!req.complete) ac.abort(new ClientGoneError());
  };
  if (req.destroyed) gone();
  else req.once('close', gone);
  return ac.signal;
}

const queries = new WeakMap<IncomingMessage, URLSearchParams>();

/**
 * Rewrites an absolute-form request target (`GET http://host/v2/ HTTP/1.1`, which a server MUST accept:
 * RFC 9112 section 3.2.2) to origin form (`/v2/`), dropping any userinfo, so routing and the access log
 * see one shape; origin-form and asterisk-form targets are left as they are.
 */
export function toOriginForm(req: IncomingMessage): void {
  const url = req.url;
  if (url === undefined || url.startsWith('/') || url === '*') return;
  try {
    const parsed = new URL(url);
    req.url = parsed.pathname + parsed.search;
  } catch {
    // not a URL: left for the router to answer 404
  }
}

/** The request's path: its URL without the query string (not decoded). */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The first value of query parameter `key` (WHATWG URL query parsing, parsed once per request), or undefined. */
export function queryParam(req: IncomingMessage, key: string): string | undefined {
  let query = queries.get(req);
  if (!query) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    queries.set(req, query);
  }
  return query.get(key) ?? undefined;
}

/**
 * Answers `status` with `value` as JSON (`Content-Type: application/json; charset=utf-8`, as
 * Distribution answers its JSON documents), the body omitted for HEAD by Node.
 */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Validates the route's repository name. @throws RegistryError NAME_INVALID */
export function repositoryOf(route: { name: string }): RepositoryName {
  return parseRepositoryName(route.name);
}

/** The request's media type without parameters (`application/json; charset=utf-8` -> `application/json`). */
export function mediaTypeOf(req: IncomingMessage): string | undefined {
  const raw = req.headers['content-type'];
  if (!raw) return undefined;
  const semi = raw.indexOf(';');
  return (semi === -1 ? raw : raw.slice(0, semi)).trim().toLowerCase() || undefined;
}

/** True when the request carries a body (a non-zero Content-Length or chunked transfer encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The query parameter `n` of a paginated list: a non-negative integer, or undefined.
 * @throws RegistryError PAGINATION_NUMBER_INVALID
 */
export function pageSize(req: IncomingMessage): number | undefined {
  const raw = queryParam(req, 'n');
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,9}$/.test(raw)) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', { message: `n must be a non-negative integer, not "${raw.slice(0, 50)}"`, detail: { n: raw.slice(0, 50) } });
  }
  return Number(raw);
}

/** Sets `Link: <path?n=N&last=L>; rel="next"` (Distribution Spec v1.1 "Listing Tags"). */
export function setNextLink(res: ServerResponse, path: string, n: number, last: string): void {
  res.setHeader('Link', `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`);
}

/**
 * Runs `work`; when it fails with a *_UNKNOWN error and the repository does not exist at all,
 * answers NAME_UNKNOWN instead (the repository check costs a lookup only on the miss path).
 * @throws RegistryError NAME_UNKNOWN, or what `work` threw
 */
export async function inRepository<T>(deps: RouteDeps, name: RepositoryName, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RegistryError && err.status === 404 && !(await deps.registry.catalog.exists(name))) throw nameUnknown(name);
    throw err;
  }
}

/** The NAME_UNKNOWN error for repository `name`. */
export function nameUnknown(name: RepositoryName): RegistryError {
  return new RegistryError('NAME_UNKNOWN', { message: `repository ${name} is not known to the registry`, detail: { name } });
}

/**
 * @param allow the methods the endpoint serves when deletes are disabled, for the `Allow` header
 * @throws RegistryError UNSUPPORTED (405) when `storage.delete.enabled` is false
 */
export function requireDeletes(deps: RouteDeps, allow: string): void {
  if (!deps.config.storage.delete.enabled) {
    throw new RegistryError('UNSUPPORTED', {
      message: 'deletes are disabled on this registry (storage.delete.enabled: false)',
      headers: { Allow: allow },
    });
  }
}
