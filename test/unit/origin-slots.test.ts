import { describe, expect, it } from 'vitest';
import { OriginSlots } from '../../src/client/origin-slots.js';

describe('requests in flight per origin (origin-slots.ts)', () => {
  it('holds at most the limit per origin, hands a released slot to the first waiter, and counts origins apart', async () => {
    const slots = new OriginSlots(2);
    const a1 = await slots.acquire('http://a');
    const a2 = await slots.acquire('http://a');
    await slots.acquire('http://b');
    const order: number[] = [];
    const third = slots.acquire('http://a').then((r) => (order.push(3), r));
    const fourth = slots.acquire('http://a').then((r) => (order.push(4), r));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    expect(slots.inFlight('http://a')).toBe(2);
    a1();
    a1(); // idempotent: frees one slot, not two
    const a3 = await third;
    expect(order).toEqual([3]);
    expect(slots.inFlight('http://a')).toBe(2);
    a2();
    (await fourth)();
    a3();
    expect(slots.inFlight('http://a')).toBe(0);
    expect(slots.inFlight('http://b')).toBe(1);
  });

  it('gives up waiting when the signal aborts, and the slot goes to the next waiter', async () => {
    const slots = new OriginSlots(1);
    const held = await slots.acquire('o');
    const controller = new AbortController();
    const aborted = slots.acquire('o', controller.signal);
    const next = slots.acquire('o');
    controller.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    held();
    (await next)();
    expect(slots.inFlight('o')).toBe(0);
  });
});
