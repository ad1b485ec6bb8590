/**
 * The pull-through cache (config `proxy`, docs/proxy.md): upstream registries cached beside the
 * team's own repositories in one instance. The routes ask {@link PullThroughCache.router} whether a
 * request is an upstream's; reads of an upstream's repository go through
 * {@link PullThroughCache.manifests} and {@link PullThroughCache.blobs}, which fetch with the
 * registry client (`src/client/`) and store into an ordinary repository `<prefix>/<name>`, so
 * garbage collection, retention (`unpulledfor`) and the admin API treat cached content as any other.
 */
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/proxy-schema.js';
import type { Registry } from '../registry/registry.js';
import { startHashing } from './block-hasher.js';
import { BlobProxy } from './blobs.js';
import { UpstreamHealthTracker } from './health.js';
import type { UpstreamReport } from './report.js';
import { ManifestProxy } from './manifests.js';
import { LayerPrefetch } from './prefetch.js';
import { Router } from './routing.js';
import { ProxyStats, type ProxyEvent } from './stats.js';
import type { Upstream } from './upstream.js';

/** Options of {@link PullThroughCache}. */
export interface PullThroughCacheOptions {
  /** the clock, ms since the epoch */
  now?: () => number;
  logger?: Logger;
  /** bytes of each blob fill kept in memory for its clients (tests shrink it) */
  fillWindowBytes?: number;
}

/** The cache of one registry. */
export class PullThroughCache {
  readonly router: Router;
  readonly manifests: ManifestProxy;
  readonly blobs: BlobProxy;
  /** hits, misses, revalidations, stale answers and upstream errors, per upstream */
  readonly stats = new ProxyStats();
  /** when each upstream last answered or failed */
  readonly health: UpstreamHealthTracker;

  constructor(
    readonly registry: Registry,
    readonly upstreams: readonly Upstream[],
    config: ProxyConfig,
    options: PullThroughCacheOptions = {},
  ) {
    // the catalog's cached list answers for the team's repositories (no storage request on their reads);
    // a name it lacks is looked up in storage, so a push through another process counts at once
    this.health = new UpstreamHealthTracker(this.stats, options.now);
    this.router = new Router(upstreams, async (name) => (await registry.catalog.listed(name)) || registry.catalog.exists(name));
    startHashing();
    this.blobs = new BlobProxy(registry, this.stats, { fillTimeoutMs: config.filltimeout, windowBytes: options.fillWindowBytes, logger: options.logger });
    const prefetch = config.prefetch ? new LayerPrefetch(this.blobs, options.logger) : undefined;
    this.manifests = new ManifestProxy(registry, this.stats, {
      negativeTtlMs: config.negativettl,
      now: options.now,
      logger: options.logger,
      fetched: prefetch && ((target, manifest) => void prefetch.start(target, manifest)),
    });
  }

  /** What `GET /admin/v1/cache` reports: each upstream's settings, counters, hit ratio and health (as known now). */
  describe(): { upstreams: UpstreamReport[] } {
    return {
      upstreams: this.upstreams.map((u) => {
        const counts = this.stats.of(u.name);
        return {
          name: u.name,
          url: u.url,
          prefix: u.prefix,
          default: u.isDefault,
          namespaces: u.namespaces,
          tagttlSeconds: u.tagTtlMs / 1000,
          counts,
          hitRatio: hitRatio(counts),
          health: this.health.of(u.name),
        };
      }),
    };
  }

  /** {@link describe}, after pinging the upstreams nothing was heard from for {@link HEALTH_MAX_AGE_MS}. */
  async report(): Promise<{ upstreams: UpstreamReport[] }> {
    await this.health.probeStale(this.upstreams, HEALTH_MAX_AGE_MS);
    return this.describe();
  }
}

/** ms after which an upstream's health, learnt from traffic, is checked again by a ping when reported. */
export const HEALTH_MAX_AGE_MS = 30_000;

/** The share of requests the cache answered without fetching from the upstream (see {@link UpstreamReport.hitRatio}). */
export function hitRatio(counts: Record<ProxyEvent, number>): number | null {
  const cached = counts.hit + counts.revalidated + counts.stale;
  const total = cached + counts.miss + counts.collapsed;
  return total === 0 ? null : cached / total;
}
