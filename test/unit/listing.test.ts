import { describe, expect, it } from 'vitest';
import { paginate } from '../../src/registry/pagination.js';

describe('paginate', () => {
  const all = ['a', 'b', 'c', 'd'];
  it.each([
    [undefined, undefined, ['a', 'b', 'c', 'd'], false],
    [2, undefined, ['a', 'b'], true],
    [2, 'b', ['c', 'd'], false],
    [4, undefined, ['a', 'b', 'c', 'd'], false],
    [0, undefined, [], true],
    [10, 'd', [], false],
    [10, 'bb', ['c', 'd'], false],
    [10, '0', ['a', 'b', 'c', 'd'], false],
  ])('n=%s last=%s', (n, last, items, more) => {
    expect(paginate(all, n, last)).toEqual({ items, more });
  });
});

describe('paginate with entries left out (the catalog under authentication)', () => {
  const all = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const visible = (e: string): boolean => e !== 'b' && e !== 'e' && e !== 'g';
  it.each([
    [undefined, undefined],
    [2, undefined],
    [2, 'c'],
    [2, 'b'],
    [1, 'd'],
    [0, undefined],
    [3, 'f'],
    [10, 'g'],
    [10, '0'],
  ])('n=%s last=%s is the page of the filtered list', (n, last) => {
    expect(paginate(all, n, last, visible)).toEqual(paginate(all.filter(visible), n, last));
  });

  it('reads the entries of the page and up to the next kept one, not the whole list', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => `r${String(i).padStart(6, '0')}`);
    let calls = 0;
    const page = paginate(many, 10, 'r000499', () => (calls++, true));
    expect(page).toEqual({ items: many.slice(500, 510), more: true });
    expect(calls).toBe(11);
  });
});
