/**
 * Slowing down password guessing, in this process only (several Wharf processes each keep their
 * own counts). Failed logins are counted per (account, address) pair and per client address
 * (failures from one address across accounts), never per account alone: failures from other
 * addresses never lock a user out. After {@link FREE_FAILURES} failures on a key it is locked for
 * 1 s, doubling with each further failure up to {@link MAX_LOCK_SECONDS}; while the pair or the
 * address is locked, logins are refused with 429 TOOMANYREQUESTS and `Retry-After` before any
 * password is checked. A successful login clears its own pair's count only (a success on an
 * attacker's own account does not reset the address's count). A count is forgotten
 * {@link FORGET_SECONDS} after its last failure.
 */
import { RegistryError } from '../oci/errors.js';

/** Failures allowed on a key (a pair, an address) before it is locked. */
export const FREE_FAILURES = 5;
/** The longest lock, in seconds. */
export const MAX_LOCK_SECONDS = 300;
/** A key's count is forgotten this many seconds after its last failure. */
export const FORGET_SECONDS = 900;
/** Keys remembered at most (bounds memory under a spray of addresses and names). */
export const MAX_KEYS = 10_000;

interface Failures {
  count: number;
  /** ms since the epoch until which the key is locked */
  lockedUntil: number;
  /** ms since the epoch of the last failure */
  lastFailure: number;
}

/** The key of an (account, address) pair; names longer than any account name are cut (they are all unknown). */
const pairKey = (account: string, address: string) => `p:${address}\n${account.slice(0, 129)}`;
const addressKey = (address: string) => `i:${address}`;

/** Per-(account, address) and per-address failed-login counts with exponential lockout. */
export class LoginThrottle {
  /** in order of last failure, oldest first */
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => Date) {}

  /**
   * Refuses a login attempt while the (account, address) pair or the address is locked.
   * @throws RegistryError TOOMANYREQUESTS (429) with `Retry-After` in seconds
   */
  check(account: string, address: string): void {
    const now = this.now().getTime();
    const until = Math.max(this.lockedUntil(pairKey(account, address), now), this.lockedUntil(addressKey(address), now));
    if (until > now) {
      throw new RegistryError('TOOMANYREQUESTS', {
        message: 'too many failed logins from this address; try again later',
        headers: { 'Retry-After': String(Math.ceil((until - now) / 1000)) },
      });
    }
  }

  /** Records a failed login of `account` from `address`. */
  failed(account: string, address: string): void {
    const now = this.now().getTime();
    for (const key of [pairKey(account, address), addressKey(address)]) {
      const seen = this.failures.get(key);
      const entry = seen && now - seen.lastFailure <= FORGET_SECONDS * 1000 ? seen : { count: 0, lockedUntil: 0, lastFailure: now };
      entry.count += 1;
      entry.lastFailure = now;
      if (entry.count >= FREE_FAILURES) {
        entry.lockedUntil = now + Math.min(2 ** (entry.count - FREE_FAILURES), MAX_LOCK_SECONDS) * 1000;
      }
      this.failures.delete(key);
      this.failures.set(key, entry);
    }
    while (this.failures.size > MAX_KEYS) this.evict(now);
  }

  /** Clears the count of the (account, address) pair after a successful login; the address's count stays. */
  succeeded(account: string, address: string): void {
    this.failures.delete(pairKey(account, address));
  }

  /**
   * Forgets one key: the one with the oldest last failure that is not locked, so that a spray of
   * junk failures never unlocks a key; when every key is locked, the one whose lock ends first.
   */
  private evict(now: number): void {
    let victim: string | undefined;
    let soonest = Infinity;
    for (const [key, entry] of this.failures) {
      if (entry.lockedUntil <= now) {
        victim = key;
        break;
      }
      if (entry.lockedUntil < soonest) [victim, soonest] = [key, entry.lockedUntil];
    }
    if (victim !== undefined) this.failures.delete(victim);
  }

  private lockedUntil(key: string, now: number): number {
    const until = this.failures.get(key)?.lockedUntil ?? 0;
    return until > now ? until : 0;
  }
}
