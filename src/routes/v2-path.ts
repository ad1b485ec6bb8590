/**
 * The `/v2/` URL grammar (Distribution Spec v1.1, "Endpoints" end-1 to end-13 and the referrers
 * API) in one function. Repository names contain `/`, so the area keyword is found from the END of
 * the path: the greedy `(.+)` keeps the last `/blobs/`, `/manifests/`, `/tags/list` or `/referrers/`.
 * Names, digests and tags are validated by the handlers through `oci/`.
 */

/** A parsed `/v2/...` path. Strings are raw path segments, not yet validated. */
export type V2Route =
  | { area: 'base' }
  | { area: 'catalog' }
  | { area: 'tags'; name: string }
  | { area: 'manifests'; name: string; reference: string }
  | { area: 'blobs'; name: string; digest: string }
  | { area: 'uploads'; name: string; session: string | undefined }
  | { area: 'referrers'; name: string; digest: string };

const TAIL = /^\/v2\/(.+)\/(?:(tags)\/list|blobs\/(uploads)(?:\/([^/]*))?|(manifests|blobs|referrers)\/([^/]+))$/;

/** Parses a request path (without query); undefined when it is not a registry endpoint. */
export function parseV2Path(path: string): V2Route | undefined {
  if (path === '/v2/' || path === '/v2') return { area: 'base' };
  if (path === '/v2/_catalog') return { area: 'catalog' };
  const m = TAIL.exec(path);
  if (!m) return undefined;
  const name = m[1]!;
  if (m[2]) return { area: 'tags', name };
  if (m[3]) return { area: 'uploads', name, session: m[4] || undefined };
  const area = m[5] as 'manifests' | 'blobs' | 'referrers';
  const last = m[6]!;
  if (area === 'manifests') return { area, name, reference: last };
  return { area, name, digest: last };
}
