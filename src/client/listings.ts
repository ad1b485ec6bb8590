/**
 * Listings (Distribution Spec v1.1 "Listing Tags", "Listing Referrers"; the catalog of Distribution):
 * pages followed through `Link: <...>; rel="next"`, and referrers with the spec's fallback to the
 * tag schema (`<alg>-<hex>` tag holding an image index) on registries without the API (CNCF
 * Distribution 2.8), both for reading and, after a push of a manifest with a `subject`, writing.
 */
import { parseDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { OCI_INDEX } from '../oci/media-types.js';
import { repositoryScope } from './auth/challenge.js';
import { ClientError, isRegistryError } from './errors.js';
import { drain, header, readBody } from './http-body.js';
import type { CallOptions, Repo, RegistryClient } from './registry-client.js';

const LIST_LIMIT = 16 * 1024 * 1024;

/** Every tag of `repo`, in the registry's order, following pages of `pageSize` (default 1000). @throws RegistryClientError NAME_UNKNOWN */
export async function listTags(client: RegistryClient, repo: Repo, options: CallOptions & { pageSize?: number } = {}): Promise<string[]> {
  const scopes = [repositoryScope(repo.repository, ['pull'])];
  return pages<{ tags?: string[] | null }>(client, repo.registry, scopes, `/v2/${repo.repository}/tags/list?n=${options.pageSize ?? 1000}`, (j) => j.tags ?? [], options);
}

/** Every repository of `registry` (`GET /v2/_catalog`, paginated). @throws RegistryClientError (UNAUTHORIZED without `registry:catalog:*`) */
export async function listRepositories(client: RegistryClient, registry: string, options: CallOptions & { pageSize?: number } = {}): Promise<string[]> {
  return pages<{ repositories?: string[] | null }>(client, registry, ['registry:catalog:*'], `/v2/_catalog?n=${options.pageSize ?? 1000}`, (j) => j.repositories ?? [], options);
}

async function pages<T>(client: RegistryClient, registry: string, scopes: string[], first: string, items: (json: T) => string[], options: CallOptions): Promise<string[]> {
  const out: string[] = [];
  for (let path: string | undefined = first; path; ) {
    const res = await client.request(registry, scopes, { method: 'GET', path, expect: [200], signal: options.signal });
    const json = parseJson(await readBody(res.body, LIST_LIMIT), path) as T;
    out.push(...items(json));
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '');
    path = next ? new URL(next[1]!, client.baseUrl(registry)).toString() : undefined;
  }
  return out;
}

/** The tag the referrers tag schema uses for `subject` (`sha256:abc` -> `sha256-abc`). */
export function referrersTag(subject: Digest): string {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm}-${hex}`.slice(0, 128);
}

/**
 * The referrers of `subject` in `repo`: the referrers API, else the tag schema's index, else none.
 * @param artifactType keep only referrers of this type
 */
export async function listReferrers(client: RegistryClient, repo: Repo, subject: Digest, options: CallOptions & { artifactType?: string } = {}): Promise<Descriptor[]> {
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
  const res = await client.request(repo.registry, [repositoryScope(repo.repository, ['pull'])], {
    method: 'GET',
    path: `/v2/${repo.repository}/referrers/${subject}${query}`,
    headers: { accept: OCI_INDEX },
    expect: [200, 404],
    signal: options.signal,
  });
  let found: Descriptor[];
  if (res.status === 200 && (header(res, 'content-type') ?? '').startsWith(OCI_INDEX)) {
    found = manifestsOf(await readBody(res.body, LIST_LIMIT), 'referrers');
  } else {
    await drain(res);
    found = (await tagSchemaIndex(client, repo, subject, options)) ?? [];
  }
  return options.artifactType ? found.filter((d) => d.artifactType === options.artifactType) : found;
}

/** The descriptors of the tag schema's index of `subject`, or undefined when there is none. */
async function tagSchemaIndex(client: RegistryClient, repo: Repo, subject: Digest, options: CallOptions): Promise<Descriptor[] | undefined> {
  try {
    const index = await client.getManifest({ registry: repo.registry, repository: repo.repository as never, tag: referrersTag(subject) as never }, options);
    return manifestsOf(index.bytes, referrersTag(subject));
  } catch (err) {
    if (isRegistryError(err, { status: 404 })) return undefined;
    throw err;
  }
}

/**
 * After pushing a manifest with a `subject` to a registry that did not answer `OCI-Subject` (no
 * referrers API), adds its descriptor to the tag schema's index (distribution-spec "Pushing
 * Manifests with Subject"): read the index (or start an empty one), add, push under the tag.
 */
export async function addToReferrersTag(client: RegistryClient, repo: Repo, subject: Digest, referrer: Descriptor, options: CallOptions = {}): Promise<void> {
  const existing = (await tagSchemaIndex(client, repo, subject, options)) ?? [];
  if (existing.some((d) => d.digest === referrer.digest)) return;
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...existing, referrer] };
  await client.putManifest(repo, referrersTag(subject), Buffer.from(JSON.stringify(index)), OCI_INDEX, options);
}

function manifestsOf(bytes: Buffer, what: string): Descriptor[] {
  const json = parseJson(bytes, what) as { manifests?: unknown };
  return Array.isArray(json.manifests) ? (json.manifests as Descriptor[]) : [];
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ClientError('PROTOCOL', `the registry answered ${what} with something that is not JSON`);
  }
}
