/**
 * Bearer tokens cached per registry and scope set until they expire (oras-go
 * `registry/remote/auth/cache.go`), so that a copy of many blobs asks the realm once per scope.
 */
import { LRUCache } from 'lru-cache';

/** Seconds before `expires_in` ends that a token is no longer handed out (a request takes time). */
const MARGIN_SECONDS = 10;

/** A cache of bearer tokens keyed by registry and the sorted scopes they were issued for. */
export class TokenCache {
  readonly #tokens = new LRUCache<string, { token: string; expiresAt: number }>({ max: 2000 });
  readonly #now: () => number;

  /** @param now the clock, in milliseconds (tests pin it) */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The cached token of `registry` for exactly `scopes` that is still valid, else undefined. */
  get(registry: string, scopes: readonly string[]): string | undefined {
    const entry = this.#tokens.get(key(registry, scopes));
    return entry && entry.expiresAt > this.#now() ? entry.token : undefined;
  }

  /** Caches a token valid for `expiresInSeconds` (the token spec's `expires_in`; 60 when absent). */
  set(registry: string, scopes: readonly string[], token: string, expiresInSeconds = 60): void {
    const ttl = Math.max(1, expiresInSeconds - MARGIN_SECONDS);
    this.#tokens.set(key(registry, scopes), { token, expiresAt: this.#now() + ttl * 1000 });
  }

  /** Forgets the token of `registry` for `scopes` (after the registry refused it). */
  delete(registry: string, scopes: readonly string[]): void {
    this.#tokens.delete(key(registry, scopes));
  }
}

function key(registry: string, scopes: readonly string[]): string {
  return `${registry} ${[...scopes].sort().join(' ')}`;
}
