/**
 * Image references as users type them, with Docker's normalization (distribution/reference's
 * `ParseNormalizedNamed`, go-containerregistry `pkg/name`): `busybox` is
 * `docker.io/library/busybox:latest`; the first path component names a registry when it contains
 * `.` or `:` or is `localhost`; `host:port/name[:tag][@digest]`. Pure: no I/O. Shared by the client
 * and the server's pull-through cache.
 */
import { parseDigest, type Digest } from './digest.js';
import { parseRepositoryName, parseTag, type RepositoryName, type Tag } from './reference.js';
import { RegistryError } from './errors.js';

/** The registry a reference without a host names (Docker Hub). */
export const DOCKER_HUB = 'docker.io';
/** The host that serves Docker Hub's registry API. */
export const DOCKER_HUB_HOST = 'registry-1.docker.io';

/** A parsed image reference: registry (as written, `docker.io` for Hub), repository, and a tag and/or digest. */
export interface ImageReference {
  /** e.g. `docker.io`, `localhost:5000`, `ghcr.io` */
  registry: string;
  repository: RepositoryName;
  tag?: Tag;
  digest?: Digest;
}

/** Options of {@link parseImageReference}. */
export interface ParseReferenceOptions {
  /** registry of references without one (default `docker.io`) */
  defaultRegistry?: string;
  /** tag given to references with neither tag nor digest (default `latest`; `null` leaves it unset, for a repository) */
  defaultTag?: string | null;
}

/**
 * Parses `[registry/]repository[:tag][@digest]` with Docker's normalization.
 * @throws RegistryError NAME_INVALID | TAG_INVALID | DIGEST_INVALID, with a message that names the input
 */
export function parseImageReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  let rest = input.trim();
  if (rest === '') throw new RegistryError('NAME_INVALID', { message: 'empty image reference' });
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1)).digest;
    rest = rest.slice(0, at);
  }
  let tag: Tag | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = parseTag(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  const { registry, path } = splitRegistry(rest, options.defaultRegistry ?? DOCKER_HUB);
  const repository = parseRepositoryName(registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path);
  if (!tag && !digest && options.defaultTag !== null) tag = parseTag(options.defaultTag ?? 'latest');
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * Parses a registry host as users type it (`localhost:5000`, `https://ghcr.io/`, `docker.io`,
 * `index.docker.io`): lowercased, scheme and trailing slashes removed, Hub's aliases folded to `docker.io`.
 */
export function normalizeRegistry(input: string): string {
  const host = input.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  if (host === '') throw new RegistryError('NAME_INVALID', { message: `invalid registry "${input}"` });
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/** The host:port that serves `registry`'s API: `registry-1.docker.io` for Docker Hub, else the registry itself. */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_HOST : registry;
}

/** The reference as text: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** What a manifest request names: the digest when there is one (it pins the content), else the tag. */
export function manifestIdentifier(ref: ImageReference): string {
  const id = ref.digest ?? ref.tag;
  if (!id) throw new RegistryError('TAG_INVALID', { message: `${formatReference(ref)} names neither a tag nor a digest` });
  return id;
}

/** distribution/reference's `domainAndPort`: DNS labels (or an IPv4 address, or `[IPv6]`) and an optional port. */
const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d+)?$/i;

function splitRegistry(name: string, defaultRegistry: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { registry: normalizeRegistry(defaultRegistry), path: name };
  const first = name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
    if (!DOMAIN.test(first)) throw new RegistryError('NAME_INVALID', { message: `invalid registry "${first}": a host name (labels of letters, digits and -) with an optional :port` });
    return { registry: normalizeRegistry(first), path: name.slice(slash + 1) };
  }
  return { registry: normalizeRegistry(defaultRegistry), path: name };
}
