/**
 * The upstream registries of the pull-through cache (config `proxy.upstreams`), each with a
 * registry client of its own (`src/client/`, the only code that speaks the protocol from the
 * outside): its credentials, its bearer tokens cached per scope until they expire (the client's
 * TokenCache, oras-go's shape), and its connection pool, whose size is the upstream's concurrency
 * cap (`maxconnections`; requests beyond it wait, where Harbor answers 429).
 */
import type { Logger } from 'pino';
import { ClientError, isLoopback, RegistryClient, RegistryClientError, StaticCredentials, type Repo } from '../client/index.js';
import { ConfigError } from '../config/load.js';
import type { ProxyConfig, UpstreamConfig } from '../config/proxy-schema.js';
import { DOCKER_HUB, normalizeRegistry, type ImageReference } from '../oci/image-reference.js';
import type { RepositoryName } from '../oci/reference.js';

/** How the cache's clients retry an upstream: briefly, so that stale-if-error answers within seconds when it is down. */
const UPSTREAM_RETRY = { retries: 2, baseDelayMs: 100, maxDelayMs: 1000 };

/** One configured upstream registry. */
export class Upstream {
  readonly name: string;
  /** the configured origin, `https://registry-1.docker.io` */
  readonly url: string;
  readonly prefix: RepositoryName;
  readonly isDefault: boolean;
  /** the registry names containerd's `?ns=` gives for it */
  readonly namespaces: readonly string[];
  /** ms a cached tag is served before a HEAD revalidates it */
  readonly tagTtlMs: number;
  /** ms a manifest, HEAD or listing request may take */
  readonly timeoutMs: number;
  /** the registry as the client names it (`docker.io` for Docker Hub, else host[:port]) */
  readonly registry: string;
  /** true for Docker Hub (one of its namespaces is docker.io): a one-component name means `library/<name>` */
  readonly hub: boolean;
  readonly client: RegistryClient;
  readonly #config: UpstreamConfig;

  constructor(config: UpstreamConfig) {
    this.#config = config;
    this.name = config.name;
    this.url = config.url.replace(/\/$/, '');
    this.prefix = config.prefix as RepositoryName;
    this.isDefault = config.default;
    this.registry = normalizeRegistry(config.url);
    this.namespaces = config.namespaces ?? [this.registry];
    this.hub = this.namespaces.includes(DOCKER_HUB);
    this.tagTtlMs = config.tagttl;
    this.timeoutMs = config.timeout;
    const host = new URL(config.url).host.toLowerCase();
    const https = config.url.startsWith('https:');
    this.client = new RegistryClient({
      credentials: config.username ? new StaticCredentials({ [this.registry]: { username: config.username, password: config.password } }) : undefined,
      connectionsPerOrigin: config.maxconnections,
      userAgent: 'wharf-pull-through',
      retry: UPSTREAM_RETRY,
      insecure: !https && !isLoopback(host) ? [host] : [],
      tls: https && isLoopback(host) ? [host] : [],
    });
  }

  /** The upstream repository `remote`, as the client names it. */
  repo(remote: RepositoryName): Repo {
    return { registry: this.registry, repository: remote };
  }

  /** A reference to `remote` at `tag` or `digest` on this upstream. */
  reference(remote: RepositoryName, id: Pick<ImageReference, 'tag' | 'digest'>): ImageReference {
    return { registry: this.registry, repository: remote, ...id };
  }

  /** A signal that fires after this upstream's `timeout`, for one request. */
  deadline(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs);
  }

  /**
   * A signal for a request whose body may stream for long (a blob): it fires when `signal` does, or
   * when the upstream's answer (its status and headers) has not come within this upstream's `timeout`;
   * call `answered` once it came. Without it a hung upstream held a blob GET for `filltimeout`.
   */
  answerDeadline(signal?: AbortSignal): { signal: AbortSignal; answered: () => void } {
    const waiting = new AbortController();
    const timer = setTimeout(() => waiting.abort(new DOMException(`no answer within ${this.timeoutMs} ms`, 'TimeoutError')), this.timeoutMs);
    return { signal: signal ? AbortSignal.any([signal, waiting.signal]) : waiting.signal, answered: () => clearTimeout(timer) };
  }

  /**
   * Checks that the upstream answers `GET /v2/` with the configured credentials.
   * @throws ConfigError when it refuses them (`proxy.upstreams[i].username`)
   * @returns undefined when it answered, else why it could not be reached (start-up goes on: the cache serves what it holds)
   */
  async check(index: number): Promise<string | undefined> {
    try {
      await this.client.ping(this.registry, { signal: AbortSignal.timeout(Math.min(this.timeoutMs, 10_000)) });
      return undefined;
    } catch (err) {
      const refused = (err instanceof ClientError && err.code === 'CREDENTIALS') || (err instanceof RegistryClientError && (err.status === 401 || err.status === 403));
      if (refused && this.#config.username !== undefined) {
        throw new ConfigError(
          `config key "proxy.upstreams.${index}.username" = ${JSON.stringify(this.#config.username)}: upstream ${this.name} (${this.url}) refused these credentials (${(err as Error).message}); fix username and password`,
        );
      }
      if (refused) return undefined; // anonymous: a registry may challenge /v2/ and still serve public repositories
      return (err as Error).message;
    }
  }

  /** Closes the client's connections. */
  close(): Promise<void> {
    return this.client.close();
  }
}

/** The upstreams of `config`, in order. */
export function buildUpstreams(config: ProxyConfig): Upstream[] {
  return config.upstreams.map((u) => new Upstream(u));
}

/**
 * Checks every upstream at start-up, in parallel: refused credentials stop the start; an upstream
 * that cannot be reached is logged (the cache still serves what it holds).
 * @throws ConfigError naming the upstream's key
 */
export async function checkUpstreams(upstreams: readonly Upstream[], logger: Logger): Promise<void> {
  const problems = await Promise.all(upstreams.map((u, i) => u.check(i)));
  problems.forEach((problem, i) => {
    const u = upstreams[i]!;
    if (problem) logger.warn({ upstream: u.name, url: u.url, problem }, 'pull-through upstream cannot be reached now; cached content is served, the rest fails until it can');
    else logger.info({ upstream: u.name, url: u.url, prefix: u.prefix, default: u.isDefault }, 'pull-through upstream answers');
  });
}
