/**
 * The pull-through cache's counters, per upstream, in one place: what the admin API's
 * `GET /admin/v1/cache` reports and where a metrics exporter hooks in ({@link ProxyStats.onEvent}:
 * one call per event, e.g. to increment a Prometheus counter `wharf_proxy_events_total{upstream,event}`).
 */

/**
 * What happened:
 * - `hit`: answered from the cache without asking the upstream;
 * - `miss`: fetched from the upstream (and stored);
 * - `revalidated`: a cached tag past its `tagttl` confirmed by a HEAD;
 * - `stale`: the upstream failed and the cached copy was served (stale-if-error);
 * - `collapsed`: a request joined a blob fetch already under way (single flight);
 * - `upstreamError`: a request to the upstream failed (a 404 is not an error);
 * - `fillFailed`: a blob fetch was not stored (cut, wrong bytes, timeout);
 * - `bytesFetched`: blob bytes received from the upstream.
 */
export type ProxyEvent = 'hit' | 'miss' | 'revalidated' | 'stale' | 'collapsed' | 'upstreamError' | 'fillFailed' | 'bytesFetched';

/** Every event, in report order. */
export const PROXY_EVENTS: readonly ProxyEvent[] = ['hit', 'miss', 'revalidated', 'stale', 'collapsed', 'upstreamError', 'fillFailed', 'bytesFetched'];

/**
 * A listener of {@link ProxyStats}: called once per event with the upstream's name, the amount (1, or
 * bytes) and, for `upstreamError`, `fillFailed` and `stale`, why (the error's message) when known.
 */
export type ProxyEventListener = (upstream: string, event: ProxyEvent, amount: number, why?: string) => void;

/** Counters of the cache since the process started. */
export class ProxyStats {
  readonly #counts = new Map<string, Record<ProxyEvent, number>>();
  readonly #listeners = new Set<ProxyEventListener>();

  /** Counts `amount` of `event` for upstream `upstream` and tells the listeners (`why`: a failure's message). */
  count(upstream: string, event: ProxyEvent, amount = 1, why?: string): void {
    let counts = this.#counts.get(upstream);
    if (!counts) {
      counts = Object.fromEntries(PROXY_EVENTS.map((e) => [e, 0])) as Record<ProxyEvent, number>;
      this.#counts.set(upstream, counts);
    }
    counts[event] += amount;
    for (const listener of this.#listeners) listener(upstream, event, amount, why);
  }

  /**
   * Calls `listener` for every event from now on (a metrics exporter's hook).
   * @returns a function that removes the listener
   */
  onEvent(listener: ProxyEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The counts so far of upstream `upstream` (all 0 when nothing happened). */
  of(upstream: string): Record<ProxyEvent, number> {
    return { ...(this.#counts.get(upstream) ?? (Object.fromEntries(PROXY_EVENTS.map((e) => [e, 0])) as Record<ProxyEvent, number>)) };
  }
}
