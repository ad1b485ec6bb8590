/**
 * The `/v2/` requests the pull-through cache answers (docs/proxy.md), tried before the registry's own
 * handlers: reads of an upstream's repository (by `?ns=`, prefix or the default upstream), and the
 * refusal of writes under an upstream's prefix. Every proxied answer says how the cache served it
 * in `Cache-Status` (RFC 9211): `Wharf; hit`, `Wharf; fwd=miss; stored`, `Wharf; fwd=miss; collapsed`
 * (joined a fetch under way), `Wharf; fwd=stale; fwd-status=200` (revalidated by a HEAD),
 * `Wharf; fwd=stale; detail=stale-if-error` (the upstream failed: a stale copy, also with `Warning: 110`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { listReferrers, listTags } from '../client/index.js';
import { parseDigest, type ParsedDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { OCI_INDEX } from '../oci/media-types.js';
import type { ManifestOutcome } from '../proxy/manifests.js';
import type { UpstreamTarget } from '../proxy/routing.js';
import { isUpstreamNotFound, upstreamFailure } from '../proxy/upstream-errors.js';
import type { BlobInfo } from '../registry/blobs.js';
import { lexical, paginate } from '../registry/pagination.js';
import { blobHeaders, sendStoredBlob } from './blobs.js';
import { parseRanges } from './byte-ranges.js';
import { pageSize, queryParam, repositoryOf, sendJson, setNextLink, type RouteDeps } from './context.js';
import { manifestHeaders, readReference, tagOf } from './manifests.js';
import type { V2Route } from './v2-path.js';

/** The `Cache-Status` (RFC 9211) of each way a manifest is answered. */
const MANIFEST_STATUS: Record<ManifestOutcome, string> = {
  hit: 'Wharf; hit',
  miss: 'Wharf; fwd=miss; stored',
  revalidated: 'Wharf; fwd=stale; fwd-status=200',
  stale: 'Wharf; fwd=stale; detail=stale-if-error',
};

/**
 * Serves `req` from the pull-through cache when it is an upstream's; answers 405 UNSUPPORTED to a
 * push under an upstream's prefix.
 * @returns false when the request is the registry's own (the caller serves it)
 * @throws RegistryError as the registry's handlers do, and UNAVAILABLE / TOOMANYREQUESTS for upstream failures
 */
export async function serveProxied(req: IncomingMessage, res: ServerResponse, route: V2Route, deps: RouteDeps): Promise<boolean> {
  const proxy = deps.proxy;
  if (!proxy || route.area === 'base' || route.area === 'catalog') return false;
  const name = repositoryOf(route);
  const read = (req.method === 'GET' || req.method === 'HEAD') && route.area !== 'uploads';
  if (!read) {
    const upstream = proxy.router.prefixed(name);
    // deletes of cached content are ordinary deletes (an operator evicting by hand)
    if (!upstream || (req.method === 'DELETE' && route.area !== 'uploads')) return false;
    req.resume();
    throw new RegistryError('UNSUPPORTED', {
      message: `${name} lies under ${upstream.prefix}/, the pull-through cache of upstream ${upstream.name} (${upstream.url}): it cannot be pushed to; push to a repository outside ${upstream.prefix}/`,
      detail: { upstream: upstream.name, prefix: upstream.prefix },
      headers: { Allow: 'GET, HEAD' },
    });
  }
  const target = await proxy.router.read(name, queryParam(req, 'ns'));
  // a blob HEAD under the default upstream is a push's "do you have it?": only the team's own repository may answer it
  if (!target || (route.area === 'blobs' && req.method === 'HEAD' && target.via === 'default')) return false;
  if (route.area === 'manifests') await serveManifest(req, res, route.reference, target, deps);
  else if (route.area === 'blobs') await serveBlob(req, res, parseDigest(route.digest), target, deps);
  else if (route.area === 'tags') await serveTags(req, res, route.name, target, deps);
  else await serveReferrers(req, res, parseDigest(route.digest), target, deps);
  return true;
}

async function serveManifest(req: IncomingMessage, res: ServerResponse, ref: string, target: UpstreamTarget, deps: RouteDeps): Promise<void> {
  const reference = readReference(ref);
  const answer = await deps.proxy!.manifests.get(target, reference);
  const tag = tagOf(reference);
  if (tag !== undefined && answer.cached) await deps.registry.pulls.record(target.cache, tag);
  const { digest, mediaType, body } = answer.manifest;
  manifestHeaders(res, digest, mediaType, body.length);
  res.setHeader('Cache-Status', answer.cached || answer.outcome !== 'miss' ? MANIFEST_STATUS[answer.outcome] : 'Wharf; fwd=miss');
  if (answer.outcome === 'stale') res.setHeader('Warning', '110 - "Response is Stale"');
  if (req.method === 'GET') await deps.events?.record(req, res, 'pull', { kind: 'manifest', repository: target.cache, digest, mediaType, size: body.length, tag, body });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function serveBlob(req: IncomingMessage, res: ServerResponse, digest: ParsedDigest, target: UpstreamTarget, deps: RouteDeps): Promise<void> {
  const proxy = deps.proxy!;
  const local = await storedIn(deps, target, digest);
  if (local) {
    res.setHeader('Cache-Status', 'Wharf; hit');
    proxy.stats.count(target.upstream.name, 'hit');
    await sendStoredBlob(req, res, target.cache, local, deps);
    return;
  }
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const answer = await proxy.blobs.get(target, digest, method, method === 'GET' ? simpleRange(req.headers.range) : undefined);
  if (answer.kind === 'stored') {
    const info = await storedIn(deps, target, digest);
    if (!info) throw new RegistryError('BLOB_UNKNOWN', { message: 'a garbage collection removed the blob as it was cached: pull it again', detail: { digest: digest.digest } });
    res.setHeader('Cache-Status', 'Wharf; fwd=miss; stored');
    await sendStoredBlob(req, res, target.cache, info, deps);
    return;
  }
  blobHeaders(res, digest.digest);
  if (answer.kind === 'head') {
    res.setHeader('Cache-Status', 'Wharf; fwd=miss');
    res.setHeader('Content-Length', answer.size);
    res.end();
    return;
  }
  if (answer.kind === 'passthrough') {
    res.setHeader('Cache-Status', 'Wharf; fwd=miss');
    res.statusCode = answer.status;
    const start = simpleRange(req.headers.range)!.start;
    if (answer.size !== undefined && answer.status === 206) {
      const end = Math.min(answer.size - 1, simpleRange(req.headers.range)!.end ?? answer.size - 1);
      res.setHeader('Content-Range', `bytes ${start}-${end}/${answer.size}`);
      res.setHeader('Content-Length', end - start + 1);
    }
    await pipeline(answer.body, res);
    return;
  }
  const { fill } = answer;
  res.setHeader('Cache-Status', answer.joined ? 'Wharf; fwd=miss; collapsed' : 'Wharf; fwd=miss; stored');
  // several ranges of a blob still arriving: the whole blob (RFC 9110 14.2 lets a server ignore Range)
  const ranges = fill.size === undefined ? undefined : parseRanges(req.headers.range, fill.size);
  const range = ranges?.length === 1 ? ranges[0] : undefined;
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${fill.size}`);
    res.setHeader('Content-Length', range.end - range.start + 1);
  } else if (fill.size !== undefined) res.setHeader('Content-Length', fill.size);
  await fill.sendTo(res, range?.start ?? 0, range ? range.end + 1 : undefined);
}

/** The blob as the cache repository holds it (with the push/GC guard of a HEAD), or undefined. */
async function storedIn(deps: RouteDeps, target: UpstreamTarget, digest: ParsedDigest): Promise<BlobInfo | undefined> {
  return deps.registry.blobs.head(target.cache, digest.digest).catch((err: unknown) => {
    if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') return undefined;
    throw err;
  });
}

/**
 * A `Range: bytes=a-b` or `bytes=a-` that needs no size to be understood, except `bytes=0-` (the
 * whole blob: worth caching); undefined otherwise (suffix ranges are applied once the size is known).
 */
function simpleRange(header: string | undefined): { start: number; end?: number } | undefined {
  const m = header === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '0' && m[2] === '')) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  return end !== undefined && end < start ? undefined : { start, ...(end === undefined ? {} : { end }) };
}

/** The upstream's tags (every page, in lexical order), paginated here; the cached tags when the upstream fails. */
async function serveTags(req: IncomingMessage, res: ServerResponse, name: string, target: UpstreamTarget, deps: RouteDeps): Promise<void> {
  const { upstream, remote, cache } = target;
  const n = pageSize(req);
  let tags: string[];
  try {
    tags = await listTags(upstream.client, upstream.repo(remote), { signal: upstream.deadline() });
    res.setHeader('Cache-Status', 'Wharf; fwd=uri-miss');
  } catch (err) {
    const cached = isUpstreamNotFound(err) ? [] : await deps.registry.manifests.tags(cache);
    if (cached.length === 0) throw upstreamFailure(target, err, 'tags/list', 'NAME_UNKNOWN');
    tags = cached;
    res.setHeader('Cache-Status', 'Wharf; fwd=stale; detail=stale-if-error');
    res.setHeader('Warning', '110 - "Response is Stale"');
  }
  const page = paginate([...new Set(tags)].sort(lexical), n, queryParam(req, 'last'));
  if (page.more && n !== undefined && n > 0) setNextLink(res, `/v2/${name}/tags/list`, n, page.items.at(-1)!);
  sendJson(res, 200, { name, tags: page.items });
}

/** The upstream's referrers of a digest (its API, else its tag schema); the cached ones when the upstream fails. */
async function serveReferrers(req: IncomingMessage, res: ServerResponse, digest: ParsedDigest, target: UpstreamTarget, deps: RouteDeps): Promise<void> {
  const { upstream, remote, cache } = target;
  const artifactType = queryParam(req, 'artifactType') || undefined;
  let manifests: Descriptor[];
  try {
    manifests = await listReferrers(upstream.client, upstream.repo(remote), digest.digest, { artifactType, signal: upstream.deadline() });
    res.setHeader('Cache-Status', 'Wharf; fwd=uri-miss');
  } catch (err) {
    if (isUpstreamNotFound(err)) manifests = [];
    else {
      manifests = await deps.registry.referrers.list(cache, digest.digest, artifactType);
      res.setHeader('Cache-Status', 'Wharf; fwd=stale; detail=stale-if-error');
    }
  }
  if (artifactType) res.setHeader('OCI-Filters-Applied', 'artifactType');
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  res.setHeader('Content-Type', OCI_INDEX);
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}
