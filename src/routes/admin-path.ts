/**
 * The `/admin/v1/` URL grammar (Wharf's admin API, docs/admin-api.md) in one function, except the
 * `gc` endpoints, which have their own router. Repository names contain `/`, so the `/tags` keyword is
 * found from the END of the path, as `v2-path.ts` does: `/repositories/a/tags/tags` is the tag list of
 * repository `a/tags`. Names and tags are validated by the handlers through `oci/`.
 */

/** A parsed `/admin/v1/...` path. Strings are raw path segments, not yet validated. */
export type AdminRoute =
  | { area: 'repositories' }
  | { area: 'repository'; name: string }
  | { area: 'tags'; name: string }
  | { area: 'tag'; name: string; tag: string }
  | { area: 'storage' }
  | { area: 'index' }
  | { area: 'import' };

/** The prefix every admin path starts with. */
export const ADMIN_PREFIX = '/admin/v1';

const TAGS = /^\/repositories\/(.+)\/tags$/;
const TAG = /^\/repositories\/(.+)\/tags\/([^/]+)$/;
const REPOSITORY = /^\/repositories\/(.+)$/;

/**
 * Parses the part of a request path after {@link ADMIN_PREFIX} (without query, percent-decoded as for
 * `/v2/` by `decode-path.ts`, so `%2F` separates like `/`); undefined when it is
 * not an admin endpoint of this router. `GET .../tags` lists tags; any other method on a path ending
 * in `/tags/<tag>` addresses that tag; every other path under `/repositories/` names a repository.
 */
export function parseAdminPath(path: string, method: string): AdminRoute | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (p === '/repositories') return { area: 'repositories' };
  if (p === '/storage') return { area: 'storage' };
  if (p === '/index') return { area: 'index' };
  if (p === '/import') return { area: 'import' };
  const tags = TAGS.exec(p);
  if (tags && (method === 'GET' || method === 'HEAD')) return { area: 'tags', name: tags[1]! };
  const tag = TAG.exec(p);
  if (tag && method !== 'GET' && method !== 'HEAD') return { area: 'tag', name: tag[1]!, tag: tag[2]! };
  const repository = REPOSITORY.exec(p);
  if (repository) return { area: 'repository', name: repository[1]! };
  return undefined;
}
