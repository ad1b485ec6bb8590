/**
 * Manifests through the cache. By digest: fetched once and kept (content-addressed, never stale).
 * By tag: served from the cache for the upstream's `tagttl`, then revalidated with a HEAD only
 * (Docker Hub does not count a HEAD as a pull; Harbor's controller does the same on every pull), the
 * body fetched again only when the tag moved. An upstream 404 is remembered for `negativettl`.
 * When the upstream is down, answers 5xx or 429, or refuses the credentials (401, 403, or its token
 * server refuses them), a cached copy is served
 * and said to be stale (stale-if-error, RFC 5861; Distribution's proxytagservice falls back the same
 * way). Bytes and media types are stored as the upstream served them, never converted; an index is
 * cached as served, its children when they are pulled. Concurrent requests for one tag or digest
 * share one upstream request.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { ClientError, RegistryClientError, type FetchedManifest } from '../client/index.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import type { Tag } from '../oci/reference.js';
import type { ManifestReference, StoredManifest, TagLink } from '../registry/manifests.js';
import type { Registry } from '../registry/registry.js';
import type { UpstreamTarget } from './routing.js';
import { SingleFlight } from './single-flight.js';
import type { ProxyStats } from './stats.js';
import { upstreamFailure, upstreamNotFound } from './upstream-errors.js';

/** How a manifest was answered (see ProxyEvent). */
export type ManifestOutcome = 'hit' | 'miss' | 'revalidated' | 'stale';

/** A manifest the cache answers with. */
export interface ProxiedManifest {
  manifest: StoredManifest;
  outcome: ManifestOutcome;
  /** false when the upstream's manifest could not be stored (not a manifest Wharf understands): served as received */
  cached: boolean;
  /** with outcome `stale`: why the upstream could not be asked */
  staleBecause?: string;
}

/** Options of {@link ManifestProxy}. */
export interface ManifestProxyOptions {
  /** ms an upstream "not found" is remembered */
  negativeTtlMs: number;
  /** the clock, ms since the epoch */
  now?: () => number;
  logger?: Logger;
  /** told of every manifest fetched from the upstream that the cache keeps, before it is written (a cold pull: layer prefetch starts there) */
  fetched?: (target: UpstreamTarget, manifest: ParsedManifest) => void;
}

/** Manifests of upstream repositories, cached in their cache repositories. */
export class ManifestProxy {
  readonly #flights = new SingleFlight<ProxiedManifest>();
  readonly #notFound: LRUCache<string, RegistryError>;
  readonly #now: () => number;

  constructor(
    private readonly registry: Registry,
    private readonly stats: ProxyStats,
    private readonly options: ManifestProxyOptions,
  ) {
    this.#notFound = new LRUCache({ max: 10_000, ttl: Math.max(1, options.negativeTtlMs) });
    this.#now = options.now ?? Date.now;
  }

  /**
   * The manifest `reference` names in `target`'s upstream repository.
   * @throws RegistryError MANIFEST_UNKNOWN (404, also remembered) | TOOMANYREQUESTS | UNAVAILABLE (502, 504) when the
   *   upstream fails and nothing is cached
   */
  async get(target: UpstreamTarget, reference: ManifestReference): Promise<ProxiedManifest> {
    const answer = 'digest' in reference ? await this.byDigest(target, reference.digest.digest) : await this.byTag(target, reference.tag);
    this.stats.count(target.upstream.name, answer.outcome, 1, answer.staleBecause);
    return answer;
  }

  private async byDigest(target: UpstreamTarget, digest: Digest): Promise<ProxiedManifest> {
    const local = await this.local(target, digest);
    if (local) return { manifest: local, outcome: 'hit', cached: true };
    return this.flight(target, digest, () => this.fetch(target, digest));
  }

  private async byTag(target: UpstreamTarget, tag: Tag): Promise<ProxiedManifest> {
    const link = await this.registry.manifests.resolveTag(target.cache, tag).catch(unknownAsUndefined);
    const local = link && (await this.local(target, link.digest));
    if (link && local) {
      const checked = Date.parse(link.checkedAt ?? link.pushedAt);
      if (this.#now() - checked < target.upstream.tagTtlMs) return { manifest: local, outcome: 'hit', cached: true };
      return this.flight(target, tag, () => this.revalidate(target, tag, link, local));
    }
    return this.flight(target, tag, () => this.fetch(target, tag));
  }

  /** One upstream request per (upstream, repository, reference) at a time; a remembered 404 answers at once. */
  private async flight(target: UpstreamTarget, what: string, work: () => Promise<ProxiedManifest>): Promise<ProxiedManifest> {
    const key = `${target.upstream.name}/${target.remote}:${what}`;
    const known = this.#notFound.get(key);
    if (known) throw known;
    return (await this.#flights.run(key, work)).value;
  }

  /** The cached manifest `digest` of the cache repository, or undefined. */
  private async local(target: UpstreamTarget, digest: Digest): Promise<StoredManifest | undefined> {
    return this.registry.manifests.get(target.cache, { digest: parseDigest(digest) }).catch(unknownAsUndefined);
  }

  /** Fetches `what` (a tag or a digest) from the upstream and caches it; a tag is pointed at it. */
  private async fetch(target: UpstreamTarget, what: string): Promise<ProxiedManifest> {
    let fetched: FetchedManifest;
    try {
      fetched = await this.request(target, what);
    } catch (err) {
      throw this.failed(target, what, err);
    }
    const parsed = await this.store(target, fetched);
    const stored = parsed !== undefined;
    if (stored && !what.includes(':')) await this.point(target, what as Tag, fetched.digest);
    return { manifest: { digest: fetched.digest, mediaType: fetched.mediaType, body: fetched.bytes }, outcome: 'miss', cached: stored };
  }

  /**
   * A cached tag past its `tagttl`: a HEAD asks whether it moved. Same digest: the cache answers and
   * the tag counts as checked now. Moved: the new manifest is fetched. The upstream failing: stale.
   */
  private async revalidate(target: UpstreamTarget, tag: Tag, link: TagLink, local: StoredManifest): Promise<ProxiedManifest> {
    const { upstream, remote } = target;
    let digest: Digest | undefined;
    try {
      const head = await upstream.client.headManifest(upstream.reference(remote, { tag }), { signal: upstream.deadline() });
      if (!head) throw this.failed(target, tag, upstreamNotFound(target, tag, 'MANIFEST_UNKNOWN'));
      digest = head.digest;
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      // the tag is gone upstream (a 401 or 403 may be refused credentials: that is served stale)
      if (err instanceof RegistryClientError && err.status === 404) throw this.failed(target, tag, err);
      // a registry that answers HEAD without Docker-Content-Digest: ask with a GET instead
      if (!(err instanceof ClientError && err.code === 'PROTOCOL')) return this.stale(target, tag, local, err);
    }
    if (digest === link.digest) {
      await this.registry.manifests.writeTag(target.cache, tag, { ...link, checkedAt: new Date(this.#now()).toISOString() });
      return { manifest: local, outcome: 'revalidated', cached: true };
    }
    try {
      return await this.fetch(target, tag);
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) throw err;
      return this.stale(target, tag, local, err);
    }
  }

  private stale(target: UpstreamTarget, tag: Tag, local: StoredManifest, err: unknown): ProxiedManifest {
    const why = (err as Error).message;
    this.options.logger?.warn({ upstream: target.upstream.name, repository: target.remote, tag, err: why }, 'upstream failed: serving the cached manifest, stale');
    return { manifest: local, outcome: 'stale', cached: true, staleBecause: why };
  }

  /** GET of a manifest by tag or digest (every media type accepted), within the upstream's timeout. */
  private request(target: UpstreamTarget, what: string): Promise<FetchedManifest> {
    const id = what.includes(':') ? { digest: what as Digest } : { tag: what as Tag };
    return target.upstream.client.getManifest(target.upstream.reference(target.remote, id), { signal: target.upstream.deadline() });
  }

  /** The error for a failed upstream request; a "not found" is remembered, other failures are counted. */
  private failed(target: UpstreamTarget, what: string, err: unknown): RegistryError {
    const error = err instanceof RegistryError ? err : upstreamFailure(target, err, what, 'MANIFEST_UNKNOWN');
    if (error.status === 404) this.#notFound.set(`${target.upstream.name}/${target.remote}:${what}`, error);
    else this.stats.count(target.upstream.name, 'upstreamError', 1, error.message);
    return error;
  }

  /** Stores a fetched manifest (telling `options.fetched` first): what it references, or undefined (logged) when it is not one Wharf can keep (schema 1, an unknown media type). */
  private async store(target: UpstreamTarget, fetched: FetchedManifest): Promise<ParsedManifest | undefined> {
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(fetched.bytes, fetched.mediaType);
    } catch (err) {
      this.options.logger?.warn({ upstream: target.upstream.name, repository: target.remote, digest: fetched.digest, err: (err as Error).message }, 'upstream manifest served as received, not cached');
      return undefined;
    }
    // the blobs' fetch may start while the manifest is written
    this.options.fetched?.(target, parsed);
    await this.registry.manifests.keep(target.cache, fetched.digest, fetched.bytes, fetched.mediaType);
    return parsed;
  }

  /** Points cached tag `tag` at `digest`, checked now (its push time: now when it moved, else kept). */
  private async point(target: UpstreamTarget, tag: Tag, digest: Digest): Promise<void> {
    const now = new Date(this.#now()).toISOString();
    const old = await this.registry.manifests.resolveTag(target.cache, tag).catch(unknownAsUndefined);
    const pushedAt = old?.digest === digest ? old.pushedAt : now;
    await this.registry.manifests.writeTag(target.cache, tag, { digest, pushedAt, checkedAt: now });
  }
}

function unknownAsUndefined(err: unknown): undefined {
  if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined;
  throw err;
}
