/**
 * Paths of the registry's content: the blob store, shared by every repository, and each
 * repository's links (blob links, manifest revisions, tags, pull times, referrers). See layout.ts for
 * the whole tree.
 */
import type { Algorithm, Digest } from '../../oci/digest.js';
import { isRepositoryName, type RepositoryName, type Tag } from '../../oci/reference.js';
import { digestComponents as split } from './ids.js';

/** Root of all blobs. */
export const BLOBS = '/blobs';
/** Root of all repositories. */
export const REPOSITORIES = '/repositories';

/** The bytes of a blob (or a manifest). */
export function blobData(d: Digest): string {
  const [alg, hex] = split(d);
  return `${BLOBS}/${alg}/${hex.slice(0, 2)}/${hex}`;
}

/** A repository's folder. */
export function repository(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}`;
}

/** The folder of a repository's blob links. */
export function layerLinks(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_layers`;
}

/** The link that lets `name` serve blob `d`. */
export function layerLink(name: RepositoryName, d: Digest): string {
  const [alg, hex] = split(d);
  return `${REPOSITORIES}/${name}/_layers/${alg}/${hex}`;
}

/** The folder of a repository's manifests (revisions and tags). */
export function manifests(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_manifests`;
}

/** The link recording that manifest `d` is in repository `name`. */
export function manifestRevision(name: RepositoryName, d: Digest): string {
  const [alg, hex] = split(d);
  return `${REPOSITORIES}/${name}/_manifests/revisions/${alg}/${hex}`;
}

/** The folder of a repository's tags. */
export function tags(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_manifests/tags`;
}

/** One tag of a repository. */
export function tag(name: RepositoryName, t: Tag): string {
  return `${REPOSITORIES}/${name}/_manifests/tags/${t}`;
}

/** When tag `t` of repository `name` was last pulled: a small object holding an ISO 8601 time (see registry/pull-times.ts). */
export function tagPull(name: RepositoryName, t: Tag): string {
  return `${REPOSITORIES}/${name}/_manifests/pulls/${t}`;
}

/** The folder of the referrers of `subject` in a repository. */
export function referrersOf(name: RepositoryName, subject: Digest): string {
  const [alg, hex] = split(subject);
  return `${REPOSITORIES}/${name}/_referrers/${alg}/${hex}`;
}

/** The folder of the referrers of `subject` whose own digests use `algorithm`; it holds one object per referrer, named by its hex. */
export function referrersOfAlgorithm(name: RepositoryName, subject: Digest, algorithm: Algorithm): string {
  return `${referrersOf(name, subject)}/${algorithm}`;
}

/** The descriptor of manifest `d`, a referrer of `subject`. */
export function referrer(name: RepositoryName, subject: Digest, d: Digest): string {
  const [alg, hex] = split(d);
  return `${referrersOf(name, subject)}/${alg}/${hex}`;
}

/** The folder of every referrer of every subject in a repository. */
export function referrersRoot(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_referrers`;
}

/** The folder of a repository's manifest revisions of `algorithm`; it holds one link per manifest, named by its hex. */
export function manifestRevisionsOf(name: RepositoryName, algorithm: Algorithm): string {
  return `${REPOSITORIES}/${name}/_manifests/revisions/${algorithm}`;
}

/** The folder of the blobs of `algorithm`; it holds one shard folder per first two hex characters. */
export function blobShards(algorithm: Algorithm): string {
  return `${BLOBS}/${algorithm}`;
}

/** The shard folder of the blobs of `algorithm` whose hex starts with `prefix` (two hex characters); it holds one object per blob, named by its hex. */
export function blobShard(algorithm: Algorithm, prefix: string): string {
  if (!/^[0-9a-f]{2}$/.test(prefix)) throw new Error(`invalid blob shard "${prefix.slice(0, 20)}"`);
  return `${BLOBS}/${algorithm}/${prefix}`;
}

/**
 * The repository whose content `path` is part of: its blob links (`_layers`) or its manifests
 * (`_manifests`: revisions and tags), the folders whose presence makes a folder a repository in the
 * catalog. Undefined for any other path (blobs, uploads, referrers, the GC's objects, a repository's
 * folder itself) and for a name that is not a valid repository name.
 */
export function repositoryOfContent(path: string): RepositoryName | undefined {
  if (!path.startsWith(`${REPOSITORIES}/`)) return undefined;
  const components = path.slice(REPOSITORIES.length + 1).split('/');
  const internal = components.findIndex((c) => c === '_layers' || c === '_manifests');
  if (internal < 1) return undefined;
  const name = components.slice(0, internal).join('/');
  return isRepositoryName(name) ? name : undefined;
}

/**
 * True when `path` is the storage root, the repositories root or anything under it: deleting or
 * moving it may remove a repository.
 */
export function mayHoldRepositories(path: string): boolean {
  return path === '/' || path === REPOSITORIES || path.startsWith(`${REPOSITORIES}/`);
}

/** Names of the layout's folders inside a repository's folder; anything else there is a nested repository. */
export const REPOSITORY_INTERNALS: ReadonlySet<string> = new Set(['_layers', '_manifests', '_referrers']);

/** The folder of a repository's blob links of `algorithm`; it holds one link per blob, named by its hex. */
export function layerLinksOf(name: RepositoryName, algorithm: Algorithm): string {
  return `${REPOSITORIES}/${name}/_layers/${algorithm}`;
}
