/**
 * Compact tables keyed by digest, for walks over the whole registry (garbage collection's mark set,
 * the admin index's blobs): a million digests take about 40 MB here, against a few hundred bytes each
 * as strings in a `Set` with objects around them.
 *
 * A digest is kept as the first 128 bits of its hash (its first 32 hex characters): two different
 * digests share them only by chance (one in 2^64 for a registry of billions of blobs) or by an
 * attacker spending 2^64 hash computations, which is out of reach. Each digest gets a dense id (a
 * small integer, reused after removal) that indexes the table's columns: typed arrays the caller
 * names, grown with the table. Lookup is open addressing with linear probing, removal backward-shift
 * deletion, so no tombstones accumulate.
 */
import type { Digest } from '../oci/digest.js';

/** A typed array constructor a column can be made of. */
type ColumnType = Float64ArrayConstructor | Uint32ArrayConstructor | Uint8ArrayConstructor;

/** The columns of a table: a typed array per name, indexed by id. */
export type Columns<C extends Record<string, ColumnType>> = { [K in keyof C]: InstanceType<C[K]> };

const EMPTY = -1;
const MIN_CAPACITY = 1024;

/**
 * A table's contents as plain arrays, to write out whole and read back (the admin index's snapshot):
 * ids below `high` (those in `free` not in use), 4 key words per id (see {@link DigestTable.key}), a
 * column value per id.
 */
export interface TableImage<C extends Record<string, ColumnType>> {
  high: number;
  free: Uint32Array;
  /** `high` x 4 words */
  keys: Uint32Array;
  /** each `high` long */
  columns: Columns<C>;
}

/** The 4 words (128 bits) a digest is kept as: the first 32 hex characters after the colon. */
function words(digest: string, into: Uint32Array): void {
  const hex = digest.indexOf(':') + 1;
  for (let w = 0; w < 4; w++) into[w] = Number.parseInt(digest.slice(hex + 8 * w, hex + 8 * w + 8), 16) >>> 0;
}

/** A set of digests with a dense id each and per-id columns (see the module comment). */
export class DigestTable<C extends Record<string, ColumnType> = Record<string, never>> {
  /** the id's key words, 4 per id */
  #keys: Uint32Array;
  /** slot -> id, or EMPTY */
  #slots: Int32Array;
  #mask: number;
  #capacity: number;
  /** ids in use are < #high; removed ids below it wait in #free */
  #high = 0;
  #free: number[] = [];
  #size = 0;
  readonly #columnTypes: C;
  #columns: Columns<C>;
  readonly #key = new Uint32Array(4);

  /** @param columns the columns' types by name, e.g. `{ size: Float64Array }` */
  constructor(columns: C = {} as C) {
    this.#columnTypes = columns;
    this.#capacity = MIN_CAPACITY;
    this.#keys = new Uint32Array(this.#capacity * 4);
    this.#slots = new Int32Array(this.#capacity * 2).fill(EMPTY);
    this.#mask = this.#slots.length - 1;
    this.#columns = Object.fromEntries(Object.entries(columns).map(([name, Type]) => [name, new Type(this.#capacity)])) as Columns<C>;
  }

  /** How many digests the table holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * The columns, indexed by id. Adding may grow the table, which replaces every column: read this
   * getter after the {@link add} (`const id = t.add(d); t.columns.x[id] = v`, never `t.columns.x[t.add(d)] = v`).
   */
  get columns(): Columns<C> {
    return this.#columns;
  }

  /** Ids are below this bound (some below it may be free). */
  get idBound(): number {
    return this.#high;
  }

  /** The id of `digest`, or -1 when the table does not hold it. */
  id(digest: Digest | string): number {
    words(digest, this.#key);
    return this.#find(this.#key);
  }

  /** True when the table holds `digest`. */
  has(digest: Digest | string): boolean {
    return this.id(digest) >= 0;
  }

  /** The id of `digest`, added (with zeroed columns) when absent. */
  add(digest: Digest | string): number {
    words(digest, this.#key);
    return this.addKey(this.#key);
  }

  /** The id of the digest whose key is `key` (4 words, see {@link key}), added (with zeroed columns) when absent. */
  addKey(key: Uint32Array): number {
    const found = this.#find(key);
    if (found >= 0) return found;
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const id = this.#free.pop() ?? this.#high++;
    if (id >= this.#capacity) this.#growColumns();
    this.#keys.set(key.subarray(0, 4), id * 4);
    for (const column of Object.values(this.#columns)) column[id] = 0;
    this.#insertSlot(id);
    this.#size += 1;
    return id;
  }

  /** The key of id `id`: 4 words, the first 128 bits of its digest's hash (a view: copy it to keep it). */
  key(id: number): Uint32Array {
    return this.#keys.subarray(id * 4, id * 4 + 4);
  }

  /** Removes `digest`; its id may be given to a later {@link add}. @returns the id it had, or -1 */
  remove(digest: Digest | string): number {
    words(digest, this.#key);
    return this.#removeKey(this.#key);
  }

  /** Removes the digest of id `id` (nothing when `id` is not in use). */
  removeId(id: number): void {
    if (this.live(id)) this.#removeKey(Uint32Array.from(this.key(id)));
  }

  #removeKey(key: Uint32Array): number {
    let slot = this.#slotOf(key);
    const id = this.#slots[slot]!;
    if (id === EMPTY) return -1;
    // backward-shift deletion: move later entries of the probe run into the hole
    let next = (slot + 1) & this.#mask;
    while (this.#slots[next] !== EMPTY) {
      const home = this.#home(this.#slots[next]!);
      if (((next - home) & this.#mask) >= ((next - slot) & this.#mask)) {
        this.#slots[slot] = this.#slots[next]!;
        slot = next;
      }
      next = (next + 1) & this.#mask;
    }
    this.#slots[slot] = EMPTY;
    this.#free.push(id);
    this.#size -= 1;
    return id;
  }

  /** A copy of the table's contents (see {@link TableImage}): later changes to the table do not reach it. */
  image(): TableImage<C> {
    const columns = Object.fromEntries(Object.entries(this.#columns).map(([name, column]) => [name, column.slice(0, this.#high)])) as Columns<C>;
    return { high: this.#high, free: Uint32Array.from(this.#free), keys: this.#keys.slice(0, this.#high * 4), columns };
  }

  /**
   * Empties the table and makes room for the ids below `high` of an image being read back: returns
   * the arrays to fill in place (views of the table's own: 4 key words per id, a value per id per
   * column). Call {@link restoreFinish} once they are filled; until then the table finds nothing.
   */
  restoreStart(high: number): { keys: Uint32Array; columns: Columns<C> } {
    let capacity = MIN_CAPACITY;
    while (capacity < high) capacity *= 2;
    this.#capacity = capacity;
    this.#keys = new Uint32Array(capacity * 4);
    this.#columns = Object.fromEntries(Object.entries(this.#columnTypes).map(([name, Type]) => [name, new Type(capacity)])) as Columns<C>;
    this.#slots = new Int32Array(MIN_CAPACITY * 2).fill(EMPTY);
    this.#mask = this.#slots.length - 1;
    this.#high = high;
    this.#free = [];
    this.#size = 0;
    const columns = Object.fromEntries(Object.entries(this.#columns).map(([name, column]) => [name, column.subarray(0, high)])) as Columns<C>;
    return { keys: this.#keys.subarray(0, high * 4), columns };
  }

  /**
   * Ends a {@link restoreStart}: the ids in `free` are not in use, every other id below `high` is, and
   * each is made findable by its key.
   * @throws RangeError when a free id is not below `high`
   */
  restoreFinish(free: Uint32Array): void {
    const unused = new Uint8Array(this.#high);
    for (const id of free) {
      if (id >= this.#high) throw new RangeError(`free id ${id} is not below ${this.#high}`);
      unused[id] = 1;
    }
    this.#free = Array.from(free);
    this.#size = this.#high - free.length;
    let slots = MIN_CAPACITY * 2;
    while (slots < this.#size * 2) slots *= 2;
    this.#slots = new Int32Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
    for (let id = 0; id < this.#high; id++) if (!unused[id]) this.#insertSlot(id);
  }

  /** Calls `visit` with every id in use. */
  forEachId(visit: (id: number) => void): void {
    for (let id = 0; id < this.#high; id++) if (this.live(id)) visit(id);
  }

  /** True when `id` is in use. */
  live(id: number): boolean {
    if (id < 0 || id >= this.#high) return false;
    const o = id * 4;
    const k = this.#keys;
    return this.#find(k.subarray(o, o + 4)) === id;
  }

  #home(id: number): number {
    return this.#keys[id * 4 + 3]! & this.#mask;
  }

  /** The slot holding the id of `key`, or the empty slot where it would go. */
  #slotOf(key: Uint32Array): number {
    let slot = key[3]! & this.#mask;
    const keys = this.#keys;
    for (;;) {
      const id = this.#slots[slot]!;
      if (id === EMPTY) return slot;
      const o = id * 4;
      if (keys[o + 3] === key[3] && keys[o] === key[0] && keys[o + 1] === key[1] && keys[o + 2] === key[2]) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  #find(key: Uint32Array): number {
    return this.#slots[this.#slotOf(key)]!;
  }

  #insertSlot(id: number): void {
    let slot = this.#home(id);
    while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & this.#mask;
    this.#slots[slot] = id;
  }

  /** Doubles the slot array (at most half full) and re-inserts every id. */
  #grow(): void {
    this.#slots = new Int32Array(this.#slots.length * 2).fill(EMPTY);
    this.#mask = this.#slots.length - 1;
    const free = new Set(this.#free);
    for (let id = 0; id < this.#high; id++) if (!free.has(id)) this.#insertSlot(id);
  }

  /** Doubles the key array and every column. */
  #growColumns(): void {
    this.#capacity *= 2;
    const keys = new Uint32Array(this.#capacity * 4);
    keys.set(this.#keys);
    this.#keys = keys;
    const grown = {} as Record<string, Float64Array | Uint32Array | Uint8Array>;
    for (const [name, Type] of Object.entries(this.#columnTypes)) {
      const column = new Type(this.#capacity);
      column.set(this.#columns[name as keyof C] as ArrayLike<number>);
      grown[name] = column;
    }
    this.#columns = grown as Columns<C>;
  }
}
