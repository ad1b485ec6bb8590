/**
 * The compact digest table (src/registry/digest-table.ts): ids, columns, growth, removal (backward
 * shift keeps every other entry findable), id reuse, keys, and agreement with a Map under random use.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestTable } from '../../src/registry/digest-table.js';

const digest = (i: number): string => `sha256:${createHash('sha256').update(String(i)).digest('hex')}`;

describe('DigestTable', () => {
  it('gives each digest one id, keeps columns per id, and finds every digest after growing', () => {
    const table = new DigestTable({ size: Float64Array, flags: Uint8Array });
    const ids = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const id = table.add(digest(i));
      ids.set(digest(i), id);
      table.columns.size[id] = i * 10;
    }
    expect(table.size).toBe(5000);
    expect(new Set(ids.values()).size).toBe(5000);
    for (let i = 0; i < 5000; i++) {
      expect(table.id(digest(i))).toBe(ids.get(digest(i)));
      expect(table.add(digest(i))).toBe(ids.get(digest(i)));
      expect(table.columns.size[table.id(digest(i))]).toBe(i * 10);
    }
    expect(table.has(digest(5000))).toBe(false);
    expect(table.id('sha512:' + 'ab'.repeat(64))).toBe(-1);
  });

  it('removes digests without losing the others, and reuses ids with zeroed columns', () => {
    const table = new DigestTable({ n: Uint32Array });
    for (let i = 0; i < 3000; i++) {
      const id = table.add(digest(i)); // first: adding may grow the columns
      table.columns.n[id] = i + 1;
    }
    for (let i = 0; i < 3000; i += 3) expect(table.remove(digest(i))).toBeGreaterThanOrEqual(0);
    expect(table.remove(digest(0))).toBe(-1);
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) expect(table.has(digest(i))).toBe(false);
      else expect(table.columns.n[table.id(digest(i))]).toBe(i + 1);
    }
    const bound = table.idBound;
    const reused = table.add(digest(10_000));
    expect(reused).toBeLessThan(bound);
    expect(table.columns.n[reused]).toBe(0);
    let live = 0;
    table.forEachId(() => (live += 1));
    expect(live).toBe(table.size);
  });

  it('keeps a digest as its key and adds it back from the key alone', () => {
    const a = new DigestTable();
    const b = new DigestTable();
    const id = a.add(digest(7));
    const copy = b.addKey(Uint32Array.from(a.key(id)));
    expect(b.id(digest(7))).toBe(copy);
    a.removeId(id);
    expect(a.has(digest(7))).toBe(false);
    expect(a.live(id)).toBe(false);
  });

  it('agrees with a Map under random adds and removes', () => {
    const table = new DigestTable({ v: Float64Array });
    const model = new Map<string, number>();
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 20_000; step++) {
      const d = digest(Math.floor(random() * 2000));
      if (random() < 0.6) {
        const value = Math.floor(random() * 1e6);
        const id = table.add(d);
        table.columns.v[id] = value;
        model.set(d, value);
      } else {
        expect(table.remove(d) >= 0).toBe(model.delete(d));
      }
    }
    expect(table.size).toBe(model.size);
    for (const [d, v] of model) expect(table.columns.v[table.id(d)]).toBe(v);
  });
});
