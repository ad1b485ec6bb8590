/**
 * Slowing down password guessing: failed logins are counted per account and per client address,
 * in this process only (several Wharf processes each keep their own counts). After
 * {@link FREE_FAILURES} failures in a row, a key is locked for 1 s, doubling with each further
 * failure up to {@link MAX_LOCK_SECONDS}; while locked, logins for that account or from that address
 * are refused with 429 TOOMANYREQUESTS and `Retry-After` before any password is checked. A
 * successful login clears both counts.
 */
import { RegistryError } from '../oci/errors.js';

/** Failures allowed before a key is locked. */
export const FREE_FAILURES = 5;
/** The longest lock, in seconds. */
export const MAX_LOCK_SECONDS = 300;
/** Keys remembered at most; the oldest are forgotten first (bounds memory under a spray of addresses). */
const MAX_KEYS = 10_000;

interface Failures {
  count: number;
  /** ms since the epoch until which the key is locked */
  lockedUntil: number;
}

/** Per-account and per-address failed-login counts with exponential lockout. */
export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => Date) {}

  /**
   * Refuses a login attempt while the account or the address is locked.
   * @throws RegistryError TOOMANYREQUESTS (429) with `Retry-After` in seconds
   */
  check(account: string, address: string): void {
    const now = this.now().getTime();
    const until = Math.max(this.lockedUntil(`a:${account}`, now), this.lockedUntil(`i:${address}`, now));
    if (until > now) {
      throw new RegistryError('TOOMANYREQUESTS', {
        message: 'too many failed logins for this account or from this address; try again later',
        headers: { 'Retry-After': String(Math.ceil((until - now) / 1000)) },
      });
    }
  }

  /** Records a failed login of `account` from `address`. */
  failed(account: string, address: string): void {
    const now = this.now().getTime();
    for (const key of [`a:${account}`, `i:${address}`]) {
      const entry = this.failures.get(key) ?? { count: 0, lockedUntil: 0 };
      entry.count += 1;
      if (entry.count >= FREE_FAILURES) {
        entry.lockedUntil = now + Math.min(2 ** (entry.count - FREE_FAILURES), MAX_LOCK_SECONDS) * 1000;
      }
      this.failures.delete(key);
      this.failures.set(key, entry);
      if (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!);
    }
  }

  /** Clears the counts after a successful login. */
  succeeded(account: string, address: string): void {
    this.failures.delete(`a:${account}`);
    this.failures.delete(`i:${address}`);
  }

  private lockedUntil(key: string, now: number): number {
    const until = this.failures.get(key)?.lockedUntil ?? 0;
    return until > now ? until : 0;
  }
}
