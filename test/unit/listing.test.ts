import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/oci/errors.js';
import { paginate } from '../../src/registry/pagination.js';
import { parseRange } from '../../src/routes/blobs.js';

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

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-1000', 100, { start: 0, end: 99 }],
    ['bytes=50-1000', 100, { start: 50, end: 99 }],
    [undefined, 100, undefined],
    ['bytes=0-1,5-6', 100, undefined],
    ['items=0-1', 100, undefined],
    ['bytes=9-1', 100, undefined],
  ])('%s of %d bytes', (header, size, want) => {
    expect(parseRange(header, size)).toEqual(want);
  });
  it.each([['bytes=100-', 100], ['bytes=100-200', 100], ['bytes=0-0', 0], ['bytes=-0', 100]])('%s of %d bytes is unsatisfiable', (header, size) => {
    try {
      parseRange(header, size);
      throw new Error('expected RANGE_INVALID');
    } catch (err) {
      expect((err as RegistryError).code).toBe('RANGE_INVALID');
      expect((err as RegistryError).status).toBe(416);
      expect((err as RegistryError).headers['Content-Range']).toBe(`bytes */${size}`);
    }
  });
});
