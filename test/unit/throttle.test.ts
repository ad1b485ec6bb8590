/**
 * The login throttle on its own (src/auth/throttle.ts): the keys it counts, when a count is
 * forgotten, and what it forgets first when its memory is full.
 */
import { describe, expect, it } from 'vitest';
import { FORGET_SECONDS, LoginThrottle, MAX_KEYS } from '../../src/auth/throttle.js';
import { RegistryError } from '../../src/oci/errors.js';

/** A throttle with a clock the test moves (ms). */
function throttle() {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  return { clock, t: new LoginThrottle(() => new Date(clock.now)) };
}

/** True when `check` refuses with 429. */
function locked(t: LoginThrottle, account: string, address: string): boolean {
  try {
    t.check(account, address);
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(429);
    return true;
  }
}

describe('the login throttle', () => {
  it('locks a pair and an address after 5 failures, never the account alone', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.failed('alice', '10.0.0.1');
    expect(locked(t, 'alice', '10.0.0.1')).toBe(true);
    expect(locked(t, 'bob', '10.0.0.1')).toBe(true);
    expect(locked(t, 'alice', '10.0.0.2')).toBe(false);
  });

  it('forgets a count a while after its last failure', () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 4; i++) t.failed('alice', '10.0.0.1');
    clock.now += (FORGET_SECONDS + 1) * 1000;
    t.failed('alice', '10.0.0.1');
    expect(locked(t, 'alice', '10.0.0.1')).toBe(false);
  });

  it('keeps a lock when a spray of junk failures fills its memory: unlocked keys are forgotten first', () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 14; i++) t.failed('alice', '10.0.0.1');
    for (let i = 0; i < MAX_KEYS; i++) t.failed(`junk${i}`, `10.1.${i >> 8}.${i & 255}`);
    expect(locked(t, 'alice', '10.0.0.1')).toBe(true);
    expect(locked(t, 'bob', '10.0.0.1')).toBe(true);
    expect(locked(t, 'junk0', '10.1.0.0')).toBe(false);
    clock.now += 301_000;
    expect(locked(t, 'alice', '10.0.0.1')).toBe(false);
  });
});
