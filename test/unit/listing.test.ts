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
