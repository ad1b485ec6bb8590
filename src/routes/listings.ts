/**
 * Listings: end-8a/8b `GET /v2/<name>/tags/list`, Docker's `GET /v2/_catalog`, and end-12a/12b
 * `GET /v2/<name>/referrers/<digest>` (Distribution Spec v1.1 "Listing Tags", "Listing Referrers").
 */
import { OPEN_GRANT } from '../auth/auth.js';
import { grantOf } from '../auth/middleware.js';
import { parseDigest } from '../oci/digest.js';
import { OCI_INDEX } from '../oci/media-types.js';
import { paginate } from '../registry/pagination.js';
import { nameUnknown, pageSize, queryParam, repositoryOf, sendJson, setNextLink, type Handler } from './context.js';

/** Tags in lexical order, `n` and `last` pagination with a `Link` header; 404 NAME_UNKNOWN. */
export const listTags: Handler<{ area: 'tags'; name: string }> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const n = pageSize(req);
  const tags = await deps.registry.manifests.tags(name);
  if (tags.length === 0 && !(await deps.registry.catalog.exists(name))) throw nameUnknown(name);
  const page = paginate(tags, n, queryParam(req, 'last'));
  // n=0 asks for an empty page, which has no next page to link to (spec: "MUST NOT include a Link header")
  if (page.more && n !== undefined && n > 0) setNextLink(res, `/v2/${name}/tags/list`, n, page.items.at(-1)!);
  sendJson(res, 200, { name, tags: page.items });
};

/** Repositories in lexical order, `n` and `last` pagination with a `Link` header. */
export const listCatalog: Handler<{ area: 'catalog' }> = async (req, res, _route, deps) => {
  const n = pageSize(req);
  // with authentication, only the repositories this request may see (see Grant.listable)
  const grant = grantOf(res);
  const page = paginate(await deps.registry.catalog.repositories(), n, queryParam(req, 'last'), grant === OPEN_GRANT ? undefined : (r) => grant.listable(r));
  if (page.more && n !== undefined && n > 0) setNextLink(res, '/v2/_catalog', n, page.items.at(-1)!);
  sendJson(res, 200, { repositories: page.items });
};

/** The referrers of a digest as an OCI image index (empty when none); `artifactType` filters, with `OCI-Filters-Applied`. */
export const listReferrers: Handler<{ area: 'referrers'; name: string; digest: string }> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const { digest } = parseDigest(route.digest);
  const artifactType = queryParam(req, 'artifactType');
  const manifests = await deps.registry.referrers.list(name, digest, artifactType || undefined);
  if (artifactType) res.setHeader('OCI-Filters-Applied', 'artifactType');
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  res.setHeader('Content-Type', OCI_INDEX);
  res.setHeader('Content-Length', body.length);
  res.statusCode = 200;
  res.end(body);
};
