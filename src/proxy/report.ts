/**
 * The shapes `GET /admin/v1/cache` answers (src/proxy/cache.ts, health.ts): types only, nothing from
 * Node, so the web page (src/ui/web/views/cache.tsx) shares them.
 */
import type { ProxyEvent } from './stats.js';

/** The health of one upstream. */
export interface UpstreamHealth {
  /** true when its last answer is newer than its last failure, false when not; null before either */
  reachable: boolean | null;
  /** ISO 8601 of its last answer, null before any */
  lastContact: string | null;
  /** its last failure (ISO 8601 and why), null before any */
  lastError: { at: string; message: string } | null;
}

/** One upstream in `GET /admin/v1/cache`. */
export interface UpstreamReport {
  name: string;
  url: string;
  prefix: string;
  default: boolean;
  namespaces: readonly string[];
  tagttlSeconds: number;
  /** the counters since the process started */
  counts: Record<ProxyEvent, number>;
  /** requests answered from the cache (hits, revalidated and stale answers) over all requests counted (those plus misses and collapsed ones); null before any */
  hitRatio: number | null;
  health: UpstreamHealth;
}

