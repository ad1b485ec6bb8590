/**
 * The compact digest table (src/registry/digest-table.ts): the key of a digest; with ids: ids,
 * columns, growth, removal (backward shift keeps every other entry findable, also across the table's
 * end), id reuse, keys, images; without ids: flags, reservation, keys sharing a home slot; both in
 * agreement with a Map under random use.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestKey } from '../../src/registry/digest-key.js';
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

  it('removes keys sharing a home slot around the end of the table, the others still found with their ids', () => {
    const table = new DigestTable({ n: Uint32Array });
    const tail = (n: number) => n.toString(16).padStart(24, '0') + '0'.repeat(32);
    // homes at the last slot and the first: one probe run wrapping around the table's end
    const digests = [...Array.from({ length: 30 }, (_, i) => `sha256:ffffffff${tail(i)}`), ...Array.from({ length: 30 }, (_, i) => `sha256:00000000${tail(i)}`)];
    digests.forEach((d, i) => {
      const id = table.add(d);
      table.columns.n[id] = i + 1;
    });
    digests.forEach((d, i) => {
      if (i % 4 === 0) table.remove(d);
    });
    digests.forEach((d, i) => {
      if (i % 4 === 0) expect(table.has(d)).toBe(false);
      else expect(table.columns.n[table.id(d)]).toBe(i + 1);
    });
    expect(table.size).toBe(45);
  });

  it('gives back an image with keys per id, and reads it back with the same ids, columns and free ids', () => {
    const a = new DigestTable({ size: Float64Array });
    for (let i = 0; i < 3000; i++) {
      const id = a.add(digest(i));
      a.columns.size[id] = i * 3;
    }
    for (let i = 0; i < 3000; i += 5) a.remove(digest(i));
    const image = a.image();
    const b = new DigestTable({ size: Float64Array });
    const { keys, columns } = b.restoreStart(image.high);
    keys.set(image.keys);
    columns.size.set(image.columns.size);
    b.restoreFinish(image.free);
    expect(b.size).toBe(a.size);
    for (let i = 0; i < 3000; i++) {
      expect(b.id(digest(i))).toBe(a.id(digest(i)));
      if (i % 5 !== 0) expect(b.columns.size[b.id(digest(i))]).toBe(i * 3);
    }
    expect(b.add(digest(5000))).toBeLessThan(image.high); // a free id is reused
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

describe('digestKey', () => {
  it('reads the first 32 hex characters after the colon as 4 words, either case', () => {
    const key = new Uint32Array(4);
    digestKey(`sha256:0123456789abcdefFEDCBA9876543210${'0'.repeat(32)}`, key);
    expect([...key]).toEqual([0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210]);
    digestKey(`sha512:${'ff'.repeat(64)}`, key);
    expect([...key]).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  });
});

describe('DigestTable without ids (flags only)', () => {
  it('holds each digest once with the union of its flags, and finds every one after growing', () => {
    const set = new DigestTable({}, { ids: false });
    const initial = set.slotCount;
    for (let i = 0; i < 20_000; i++) set.setFlags(digest(i), 1 << (i % 3));
    for (let i = 0; i < 20_000; i += 2) set.setFlags(digest(i), 8);
    expect(set.size).toBe(20_000);
    expect(set.slotCount).toBeGreaterThan(initial);
    expect(set.size / set.slotCount).toBeLessThanOrEqual(0.75);
    for (let i = 0; i < 20_000; i++) {
      expect(set.has(digest(i))).toBe(true);
      expect(set.flags(digest(i))).toBe((1 << (i % 3)) | (i % 2 === 0 ? 8 : 0));
    }
    expect(set.has(digest(20_000))).toBe(false);
    expect(set.flags(digest(20_000))).toBe(0);
  });

  it('holds a digest with no flags apart from an absent one', () => {
    const set = new DigestTable({}, { ids: false });
    set.setFlags(digest(1), 0);
    expect(set.has(digest(1))).toBe(true);
    expect(set.flags(digest(1))).toBe(0);
    expect(set.size).toBe(1);
  });

  it('does not grow before the reserved count, and keeps what it held when reserving', () => {
    const set = new DigestTable({}, { ids: false });
    for (let i = 0; i < 100; i++) set.setFlags(digest(i), 1);
    set.reserve(50_000);
    const slots = set.slotCount;
    expect(slots).toBeGreaterThanOrEqual(50_000 / 0.75);
    for (let i = 0; i < 100; i++) expect(set.flags(digest(i))).toBe(1);
    for (let i = 100; i < 50_000; i++) set.setFlags(digest(i), 2);
    expect(set.slotCount).toBe(slots);
    set.reserve(10); // smaller than held: nothing changes
    expect(set.slotCount).toBe(slots);
    for (let i = 0; i < 50_000; i += 97) expect(set.flags(digest(i))).toBe(i < 100 ? 1 : 2);
  });

  it('probes past keys sharing a home slot, also around the end of the table', () => {
    const set = new DigestTable({}, { ids: false });
    // the home slot comes from the first 8 hex characters: these all start at the last slot, or the first
    const tail = (n: number) => n.toString(16).padStart(24, '0') + '0'.repeat(32); // differs within the compared 128 bits
    const last = Array.from({ length: 40 }, (_, i) => `sha256:ffffffff${tail(i)}`);
    const first = Array.from({ length: 40 }, (_, i) => `sha256:00000000${tail(i)}`);
    last.forEach((d, i) => set.setFlags(d, 1 + (i % 2)));
    first.forEach((d) => set.setFlags(d, 4));
    expect(set.size).toBe(80);
    last.forEach((d, i) => expect(set.flags(d)).toBe(1 + (i % 2)));
    first.forEach((d) => expect(set.flags(d)).toBe(4));
    expect(set.has(`sha256:ffffffff${tail(40)}`)).toBe(false);
    expect(set.has(`sha256:00000000${tail(40)}`)).toBe(false);
    // a digest differing only in its last compared word, and one past the compared 128 bits (the same key)
    const base = `sha256:${'ab'.repeat(16)}`;
    set.setFlags(`${base}${'0'.repeat(32)}`, 8);
    expect(set.has(`sha256:${'ab'.repeat(15)}ac${'0'.repeat(32)}`)).toBe(false);
    expect(set.flags(`${base}${'f'.repeat(32)}`)).toBe(8);
  });

  it('agrees with a Map under random use', () => {
    const set = new DigestTable({}, { ids: false, expected: 500 });
    const model = new Map<string, number>();
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) % n);
    for (let step = 0; step < 30_000; step++) {
      const d = digest(random(8000));
      if (random(2) === 0) {
        const bits = random(8);
        set.setFlags(d, bits);
        model.set(d, (model.get(d) ?? 0) | bits);
      } else {
        expect(set.has(d)).toBe(model.has(d));
        expect(set.flags(d)).toBe(model.get(d) ?? 0);
      }
    }
    expect(set.size).toBe(model.size);
  });
});
