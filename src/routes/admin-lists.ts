/**
 * The admin API's read endpoints, answered from the admin index (src/registry/admin-index/):
 * repositories (filtered, sorted, cursor-paginated), one repository, a repository's tags, storage
 * totals, and the index's own status. Thin: the work is in `registry/admin-index/`.
 */
import type { Request, Response } from 'express';
import type { RepositoryName } from '../oci/reference.js';
import { parseListQuery, type ListPage, type ListParams, type ListQuery } from '../registry/admin-index/listing.js';
import { REPOSITORY_SORTS, RepositoryViews, summarize } from '../registry/admin-index/repositories.js';
import { TAG_SORTS, TagRows } from '../registry/admin-index/tag-rows.js';
import type { Registry } from '../registry/registry.js';
import { ADMIN_PREFIX, type AdminRoute } from './admin-path.js';
import { nameUnknown, pageSize, queryParam, repositoryOf } from './context.js';

/** A handler of one admin read endpoint. */
type Handler<R> = (req: Request, res: Response, route: R, registry: Registry) => Promise<void>;

/** The list parameters of a request: `n`, `sort`, `order`, `q`, `cursor`, `last`. */
function listParams(req: Request): ListParams {
  return {
    n: pageSize(req),
    sort: queryParam(req, 'sort'),
    order: queryParam(req, 'order'),
    q: queryParam(req, 'q'),
    cursor: queryParam(req, 'cursor'),
    last: queryParam(req, 'last'),
  };
}

/**
 * Sets `Link` to the next page: `?n=N&last=L` for a list in name order without filter (as `_catalog`
 * and `tags/list` paginate), `?n=N&cursor=C` for any other.
 */
function setNext(res: Response, path: string, query: ListQuery<string>, result: ListPage<unknown>, lastName: string | undefined): void {
  if (result.next === null || query.n === undefined) return;
  const plain = query.sort === 'name' && query.order === 'asc' && query.q === undefined && lastName !== undefined;
  const next = plain ? `last=${encodeURIComponent(lastName)}` : `cursor=${result.next}`;
  res.setHeader('Link', `<${path}?n=${query.n}&${next}>; rel="next"`);
}

/** The admin API's read endpoints over one registry, with the sorted views and tag rows they keep. */
export function adminReads(registry: Registry): Record<'repositories' | 'repository' | 'tags' | 'storage' | 'index', Handler<never>> {
  const views = new RepositoryViews();
  const tagRows = new TagRows(registry.driver, registry.manifests, registry.index);

  /** `GET /admin/v1/repositories`: summaries, filtered (`q`), sorted (`sort`, `order`), paginated (`n`, `cursor` or `last`). */
  const repositories: Handler<AdminRoute> = async (req, res) => {
    const query = parseListQuery(listParams(req), REPOSITORY_SORTS);
    const state = await registry.index.rows();
    const result = views.list(state, query);
    setNext(res, `${ADMIN_PREFIX}/repositories`, query, result, result.items.at(-1)?.name);
    res.status(200).json({ repositories: result.items, total: result.total, next: result.next });
  };

  /** `GET /admin/v1/repositories/{name}`: one summary; 404 NAME_UNKNOWN. */
  const repository: Handler<{ area: 'repository'; name: string }> = async (_req, res, route) => {
    const name = repositoryOf(route);
    const state = await registry.index.rows();
    const entry = state.repository(name);
    if (!entry) throw nameUnknown(name);
    res.status(200).json(summarize(state, entry));
  };

  /** `GET /admin/v1/repositories/{name}/tags`: tag summaries, filtered, sorted, paginated; 404 NAME_UNKNOWN. */
  const tags: Handler<{ area: 'tags'; name: string }> = async (req, res, route) => {
    const name: RepositoryName = repositoryOf(route);
    const query = parseListQuery(listParams(req), TAG_SORTS);
    const result = await tagRows.list(name, query);
    if (result.total === 0 && query.q === undefined && !(await registry.catalog.exists(name))) throw nameUnknown(name);
    setNext(res, `${ADMIN_PREFIX}/repositories/${name}/tags`, query, result, result.items.at(-1)?.tag);
    res.status(200).json({ name, tags: result.items, total: result.total, next: result.next });
  };

  /**
   * `GET /admin/v1/storage`: blob, repository, tag and manifest totals (kept by the index), upload
   * sessions (kept beside it: this process's exact, other processes' within UPLOADS_MAX_AGE_MS).
   */
  const storage: Handler<AdminRoute> = async (_req, res) => {
    const state = await registry.index.rows();
    const { tags, manifests } = state.totals;
    res.status(200).json({ blobs: state.stored, uploads: await registry.index.uploads.usage(), repositories: state.repositoryCount, tags, manifests });
  };

  /** `GET /admin/v1/index`: the index's state and freshness; starts it when it was not. */
  const index: Handler<AdminRoute> = async (_req, res) => {
    void registry.index.start().catch(() => undefined); // a failed start is reported by the requests that wait for it
    res.status(200).json(registry.index.status());
  };

  return { repositories, repository, tags, storage, index } as Record<'repositories' | 'repository' | 'tags' | 'storage' | 'index', Handler<never>>;
}
