/**
 * The health of each upstream of the pull-through cache, as `GET /admin/v1/cache` reports it: when
 * it last answered, its last failure and whether it is reachable now. Learnt from the cache's own
 * traffic ({@link ProxyStats} events: a miss, a revalidation or fetched bytes mean it answered; an
 * upstream error, a failed fill or a stale answer mean it failed) and, for an upstream nothing was
 * heard from lately, from a `GET /v2/` ping when the report is asked for (Harbor's registry health
 * check, done on demand: an idle cache sends nothing). Per process, since it started.
 */
import { ClientError, RegistryClientError } from '../client/index.js';
import type { UpstreamHealth } from './report.js';
import type { ProxyEvent, ProxyStats } from './stats.js';
import type { Upstream } from './upstream.js';

/** Events that mean the upstream answered. */
const ANSWERED: ReadonlySet<ProxyEvent> = new Set(['miss', 'revalidated', 'bytesFetched']);
/** Events that mean a request to the upstream failed. */
const FAILED: ReadonlySet<ProxyEvent> = new Set(['upstreamError', 'fillFailed', 'stale']);

/** How long a probe may wait for `GET /v2/`, ms. */
const PROBE_TIMEOUT_MS = 3000;

/** The health of every upstream, from the cache's events and on-demand probes. */
export class UpstreamHealthTracker {
  readonly #contact = new Map<string, number>();
  readonly #error = new Map<string, { at: number; message: string }>();
  readonly #probes = new Map<string, Promise<void>>();

  constructor(
    stats: ProxyStats,
    private readonly now: () => number = Date.now,
  ) {
    stats.onEvent((upstream, event, _amount, why) => {
      if (ANSWERED.has(event)) this.answered(upstream);
      else if (FAILED.has(event)) this.failed(upstream, why ?? event);
    });
  }

  /** Notes that `upstream` answered now. */
  answered(upstream: string): void {
    this.#contact.set(upstream, this.now());
  }

  /** Notes that a request to `upstream` failed now, because of `message`. */
  failed(upstream: string, message: string): void {
    this.#error.set(upstream, { at: this.now(), message });
  }

  /** The health of `upstream` as known now. */
  of(upstream: string): UpstreamHealth {
    const contact = this.#contact.get(upstream);
    const error = this.#error.get(upstream);
    return {
      reachable: contact === undefined && error === undefined ? null : error === undefined || (contact !== undefined && contact > error.at),
      lastContact: contact === undefined ? null : new Date(contact).toISOString(),
      lastError: error === undefined ? null : { at: new Date(error.at).toISOString(), message: error.message },
    };
  }

  /**
   * Pings (`GET /v2/`, at most {@link PROBE_TIMEOUT_MS} ms) each of `upstreams` nothing was heard
   * from for `maxAgeMs` (answer or failure), in parallel; one probe per upstream at a time. Never throws.
   */
  async probeStale(upstreams: readonly Upstream[], maxAgeMs: number): Promise<void> {
    const now = this.now();
    await Promise.all(
      upstreams.map((u) => {
        const last = Math.max(this.#contact.get(u.name) ?? -Infinity, this.#error.get(u.name)?.at ?? -Infinity);
        if (now - last < maxAgeMs) return undefined;
        let probe = this.#probes.get(u.name);
        if (!probe) {
          probe = this.#probe(u).finally(() => this.#probes.delete(u.name));
          this.#probes.set(u.name, probe);
        }
        return probe;
      }),
    );
  }

  async #probe(u: Upstream): Promise<void> {
    try {
      await u.client.ping(u.registry, { signal: AbortSignal.timeout(Math.min(u.timeoutMs, PROBE_TIMEOUT_MS)) });
      this.answered(u.name);
    } catch (err) {
      // a challenge the anonymous client cannot answer is still an answer (public repositories are served)
      if (isRefusal(err)) this.answered(u.name);
      else this.failed(u.name, `GET ${u.url}/v2/: ${(err as Error).message}`);
    }
  }
}

/** True for a 401 or 403, or the client's "no credentials" (the upstream answered, refusing). */
function isRefusal(err: unknown): boolean {
  return (err instanceof RegistryClientError && (err.status === 401 || err.status === 403)) || (err instanceof ClientError && err.code === 'CREDENTIALS');
}
