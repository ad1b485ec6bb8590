/**
 * Retries with exponential backoff and full jitter (AWS's "Exponential Backoff And Jitter"),
 * honouring a registry's `Retry-After` (RFC 9110 section 10.2.3) up to a ceiling: past it, no retry.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError, RegistryClientError } from './errors.js';
import { NetworkError } from './transport.js';

/** How a client retries: attempts after the first, and the delays between them (milliseconds). */
export interface RetryPolicy {
  /** retries after the first attempt (default 6) */
  retries: number;
  /** the first delay's ceiling (default 250 ms); doubled each retry */
  baseDelayMs: number;
  /** the longest delay, `Retry-After` included (default 8000 ms) */
  maxDelayMs: number;
}

/** The default policy: 6 retries, 250 ms doubling to 8 s (8 to 16 s in all, jittered: a registry restart fits). */
export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 250, maxDelayMs: 8000 };

/** True when `err` may go away on its own: a temporary registry answer, or a connection to an origin that answered before. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RegistryClientError) return err.temporary;
  if (err instanceof NetworkError) return err.retryable;
  return false;
}

/** The delay before retry number `attempt` (0-based): `Retry-After` when given (a longer one than `maxDelayMs` is not retried), else jittered exponential. */
export function retryDelay(policy: RetryPolicy, attempt: number, err: unknown): number {
  const after = err instanceof RegistryClientError ? err.retryAfter : undefined;
  if (after !== undefined) return Math.min(after * 1000, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * True when the registry asked for a longer wait (`Retry-After`) than the policy's ceiling: retrying
 * sooner than it allows only spends its rate limit (a pull-through cache's retries wait at most 1 s,
 * Docker Hub's 429 asks for minutes), so the error goes to the caller at once.
 */
function waitsLonger(policy: RetryPolicy, err: unknown): boolean {
  const after = err instanceof RegistryClientError ? err.retryAfter : undefined;
  return after !== undefined && after * 1000 > policy.maxDelayMs;
}

/**
 * Runs `fn` until it succeeds, a non-retryable error occurs, or the retries are spent.
 * @param fn gets the attempt number (0 first)
 * @throws the last error; ClientError ABORTED when `signal` fires during a wait
 */
export async function withRetries<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.retries || !isRetryable(err) || signal?.aborted || waitsLonger(policy, err)) throw err;
      try {
        await sleep(retryDelay(policy, attempt, err), undefined, { signal });
      } catch {
        throw new ClientError('ABORTED', 'aborted', { cause: signal?.reason });
      }
    }
  }
}
