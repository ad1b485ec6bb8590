/**
 * Which repository a request means: one of the registry's own, or an upstream's, cached under the
 * upstream's prefix. In order (docs/proxy.md "Routing"):
 *
 * 1. containerd's `?ns=<registry>` (containerd sends it to a mirror so that it knows whose image
 *    `library/busybox` is): the upstream that claims that registry name; an `ns` no upstream claims
 *    is served from the registry's own repositories only (never from another registry's upstream).
 * 2. A path prefix: `/v2/dockerhub/library/busybox/...` is `library/busybox` of the upstream whose
 *    prefix is `dockerhub`.
 * 3. Any other name the team has not pushed (no such repository here) goes to the `default: true`
 *    upstream, so dockerd's `registry-mirrors` works, `library/busybox` included.
 *
 * Whatever the route, cached content lives in ONE repository, `<prefix>/<upstream repository>`, an
 * ordinary repository for garbage collection, retention and the admin API. For Docker Hub a
 * one-component name means `library/<name>`, as docker reads it.
 */
import { parseRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { Upstream } from './upstream.js';

/** How a request reached its upstream. */
export type RouteVia = 'ns' | 'prefix' | 'default';

/** A repository of an upstream: where it is fetched from and where it is cached. */
export interface UpstreamTarget {
  upstream: Upstream;
  /** the repository's name on the upstream */
  remote: RepositoryName;
  /** the repository the cache keeps it in: `<prefix>/<remote>` */
  cache: RepositoryName;
  via: RouteVia;
}

/** Routes repository names to upstreams. */
export class Router {
  readonly #byNamespace = new Map<string, Upstream>();
  readonly #default: Upstream | undefined;

  /**
   * @param isLocal true when the registry has a repository of that name (pushed by the team): it wins over the default upstream
   */
  constructor(
    readonly upstreams: readonly Upstream[],
    private readonly isLocal: (name: RepositoryName) => Promise<boolean>,
  ) {
    for (const u of upstreams) for (const ns of u.namespaces) this.#byNamespace.set(ns, u);
    this.#default = upstreams.find((u) => u.isDefault);
  }

  /**
   * The upstream repository a read of `name` means, or undefined when it is the registry's own.
   * @param ns containerd's `ns` query parameter, if any
   * @throws RegistryError NAME_INVALID when the cache's name would be too long
   */
  async read(name: RepositoryName, ns: string | undefined): Promise<UpstreamTarget | undefined> {
    if (ns !== undefined && ns !== '') {
      const upstream = this.#byNamespace.get(ns.toLowerCase());
      return upstream ? this.target(upstream, name, 'ns') : undefined;
    }
    const prefixed = this.prefixed(name);
    if (prefixed) return this.target(prefixed, name.slice(prefixed.prefix.length + 1) as RepositoryName, 'prefix');
    if (!this.#default || (await this.isLocal(name))) return undefined;
    return this.target(this.#default, name, 'default');
  }

  /** The upstream whose prefix `name` lies under (`dockerhub/library/busybox` under `dockerhub`), if any. */
  prefixed(name: RepositoryName): Upstream | undefined {
    return this.upstreams.find((u) => name.startsWith(`${u.prefix}/`));
  }

  /** The upstream that claims registry `registry` (a reference's host, `docker.io` for Hub), if any. */
  byRegistry(registry: string): Upstream | undefined {
    return this.#byNamespace.get(registry.toLowerCase());
  }

  /** The default upstream, if one is configured. */
  get defaultUpstream(): Upstream | undefined {
    return this.#default;
  }

  /**
   * `remote` of `upstream`, cached under its prefix.
   * @throws RegistryError NAME_INVALID when `<prefix>/<remote>` is longer than a repository name may be
   */
  target(upstream: Upstream, remote: RepositoryName, via: RouteVia): UpstreamTarget {
    const full = upstream.hub && !remote.includes('/') ? (`library/${remote}` as RepositoryName) : remote;
    return { upstream, remote: full, cache: parseRepositoryName(`${upstream.prefix}/${full}`), via };
  }
}
