/**
 * Compact tables keyed by digest, for walks over the whole registry: garbage collection's mark set
 * (gc/mark.ts, every blob of the store with a few flag bits) and the admin index's blobs (a dense id
 * each, indexing per-blob columns). A million digests take 17 MB in a table without ids, about 30 MB
 * with ids before columns, in typed arrays the JavaScript heap's collector never scans, against a few
 * hundred bytes each as strings in a `Set` with objects around them.
 *
 * A digest is kept as its key, the first 128 bits of its hash (digest-key.ts, which says why two
 * digests sharing one is out of reach); a shared key would merge two entries, which for garbage
 * collection keeps more, never less (a stored blob that looks marked stays).
 *
 * One slot per digest: its 4 key words and a byte (bit 7: in use; bits 0-6: the caller's flags), and
 * with ids the digest's id. Open addressing with linear probing; the home slot is the key's first word
 * scaled to the table's length (the hash's bits are uniform already), so a table can be sized exactly
 * for an expected count ({@link DigestTable.reserve}) and is at most three quarters full. Removal is
 * backward-shift deletion: no tombstones accumulate. With ids (the default) each digest gets a dense
 * id (a small integer, reused after removal) that indexes the table's columns, typed arrays the caller
 * names, grown with the table; ids stay put when slots move. Without ids (`{ ids: false }`) a table is
 * a set of digests with flags only, 17 bytes per slot.
 */
import type { Digest } from '../oci/digest.js';
import { digestKey } from './digest-key.js';

/** A typed array constructor a column can be made of. */
type ColumnType = Float64ArrayConstructor | Uint32ArrayConstructor | Uint8ArrayConstructor;

/** The columns of a table: a typed array per name, indexed by id. */
export type Columns<C extends Record<string, ColumnType>> = { [K in keyof C]: InstanceType<C[K]> };

/** The most a table is filled before it grows (fraction of its slots). */
const MAX_LOAD = 0.75;
const MIN_SLOTS = 1024;
const MIN_CAPACITY = 1024;
/** the state bit of a slot in use, so a digest held with no flag of the caller's is told from an empty slot */
const USED = 0x80;

/**
 * A table's contents as plain arrays, to write out whole and read back (the admin index's snapshot):
 * ids below `high` (those in `free` not in use), 4 key words per id (see {@link digestKey}; zeros for
 * a free id), a column value per id.
 */
export interface TableImage<C extends Record<string, ColumnType>> {
  high: number;
  free: Uint32Array;
  /** `high` x 4 words */
  keys: Uint32Array;
  /** each `high` long */
  columns: Columns<C>;
}

/** How many slots hold `count` digests at most {@link MAX_LOAD} full. */
function slotsFor(count: number): number {
  return Math.max(MIN_SLOTS, Math.ceil(count / MAX_LOAD) + 1);
}

/** A set of digests with up to 7 flag bits each and, unless made without ids, a dense id each and per-id columns (see the module comment). */
export class DigestTable<C extends Record<string, ColumnType> = Record<string, never>> {
  /** per slot: 4 key words */
  #keys: Uint32Array;
  /** per slot: USED | the caller's flags, 0 when empty */
  #state: Uint8Array;
  /** per slot: the id of its digest (tables with ids) */
  #ids: Int32Array | undefined;
  /** per id: its slot, -1 when the id is not in use (tables with ids) */
  #slotOfId: Int32Array;
  #slots: number;
  #size = 0;
  /** ids in use are < #high; removed ids below it wait in #free */
  #high = 0;
  #free: number[] = [];
  #capacity = 0;
  readonly #columnTypes: C;
  #columns: Columns<C>;
  readonly #key = new Uint32Array(4);
  /** the keys being read back, per id, between restoreStart and restoreFinish */
  #restoring: Uint32Array | undefined;

  /**
   * @param columns the columns' types by name, e.g. `{ size: Float64Array }`
   * @param options.ids false: no ids and no columns, flags only (17 bytes per slot)
   * @param options.expected how many digests it will likely hold (it grows beyond, at a cost)
   */
  constructor(columns: C = {} as C, options: { ids?: boolean; expected?: number } = {}) {
    this.#columnTypes = columns;
    this.#slots = slotsFor(options.expected ?? 0);
    this.#keys = new Uint32Array(this.#slots * 4);
    this.#state = new Uint8Array(this.#slots);
    const ids = options.ids ?? true;
    this.#ids = ids ? new Int32Array(this.#slots) : undefined;
    this.#capacity = ids ? MIN_CAPACITY : 0;
    this.#slotOfId = new Int32Array(this.#capacity).fill(-1);
    this.#columns = this.#makeColumns(this.#capacity);
  }

  /** How many digests the table holds. */
  get size(): number {
    return this.#size;
  }

  /** How many slots the table has (17 bytes each, 21 with ids). */
  get slotCount(): number {
    return this.#slots;
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

  /** Makes room for `count` digests in all: no growth until then. */
  reserve(count: number): void {
    if (count / MAX_LOAD > this.#slots) this.#resize(slotsFor(count));
  }

  /** True when the table holds `digest`. */
  has(digest: Digest | string): boolean {
    digestKey(digest, this.#key);
    return this.#state[this.#slotOf(this.#key)] !== 0;
  }

  /** The flags of `digest` (0-127), 0 when the table does not hold it. */
  flags(digest: Digest | string): number {
    digestKey(digest, this.#key);
    return this.#state[this.#slotOf(this.#key)]! & ~USED;
  }

  /** Adds `digest` when absent (with a new id, zeroed columns) and sets `bits` (0-127) among its flags. */
  setFlags(digest: Digest | string, bits: number): void {
    digestKey(digest, this.#key);
    const slot = this.#insert(this.#key); // first: inserting may grow (replace) the state array
    this.#state[slot]! |= bits & ~USED;
  }

  /** The id of `digest`, or -1 when the table does not hold it. */
  id(digest: Digest | string): number {
    digestKey(digest, this.#key);
    const slot = this.#slotOf(this.#key);
    return this.#state[slot] === 0 ? -1 : this.#idAt(slot);
  }

  /** The id of `digest`, added (with zeroed columns and flags) when absent. */
  add(digest: Digest | string): number {
    digestKey(digest, this.#key);
    return this.addKey(this.#key);
  }

  /** The id of the digest whose key is `key` (4 words, see {@link digestKey}), added (with zeroed columns and flags) when absent. */
  addKey(key: Uint32Array): number {
    return this.#idAt(this.#insert(key));
  }

  /** The key of id `id`: 4 words, the first 128 bits of its digest's hash (a view: copy it to keep it). */
  key(id: number): Uint32Array {
    const slot = this.#slotOfId[id]!;
    return this.#keys.subarray(slot * 4, slot * 4 + 4);
  }

  /** Removes `digest`; its id may be given to a later {@link add}. @returns the id it had, or -1 */
  remove(digest: Digest | string): number {
    digestKey(digest, this.#key);
    const slot = this.#slotOf(this.#key);
    if (this.#state[slot] === 0) return -1;
    const id = this.#idAt(slot);
    this.#removeSlot(slot);
    return id;
  }

  /** Removes the digest of id `id` (nothing when `id` is not in use). */
  removeId(id: number): void {
    if (this.live(id)) this.#removeSlot(this.#slotOfId[id]!);
  }

  /** True when `id` is in use. */
  live(id: number): boolean {
    return id >= 0 && id < this.#high && this.#slotOfId[id]! >= 0;
  }

  /** Calls `visit` with every id in use. */
  forEachId(visit: (id: number) => void): void {
    for (let id = 0; id < this.#high; id++) if (this.#slotOfId[id]! >= 0) visit(id);
  }

  /** A copy of the table's contents (see {@link TableImage}): later changes to the table do not reach it. */
  image(): TableImage<C> {
    const columns = Object.fromEntries(Object.entries(this.#columns).map(([name, column]) => [name, column.slice(0, this.#high)])) as Columns<C>;
    const keys = new Uint32Array(this.#high * 4);
    for (let id = 0; id < this.#high; id++) {
      const slot = this.#slotOfId[id]!;
      if (slot >= 0) keys.set(this.#keys.subarray(slot * 4, slot * 4 + 4), id * 4);
    }
    return { high: this.#high, free: Uint32Array.from(this.#free), keys, columns };
  }

  /**
   * Empties the table and makes room for the ids below `high` of an image being read back: returns
   * the arrays to fill in place (4 key words per id, and views of the table's columns: a value per id
   * per column). Call {@link restoreFinish} once they are filled; until then the table finds nothing.
   */
  restoreStart(high: number): { keys: Uint32Array; columns: Columns<C> } {
    let capacity = MIN_CAPACITY;
    while (capacity < high) capacity *= 2;
    this.#capacity = capacity;
    this.#columns = this.#makeColumns(capacity);
    this.#slotOfId = new Int32Array(capacity).fill(-1);
    this.#slots = MIN_SLOTS;
    this.#clearSlots();
    this.#high = high;
    this.#free = [];
    this.#size = 0;
    this.#restoring = new Uint32Array(high * 4);
    const columns = Object.fromEntries(Object.entries(this.#columns).map(([name, column]) => [name, column.subarray(0, high)])) as Columns<C>;
    return { keys: this.#restoring, columns };
  }

  /**
   * Ends a {@link restoreStart}: the ids in `free` are not in use, every other id below `high` is, and
   * each is made findable by its key.
   * @throws RangeError when a free id is not below `high`
   */
  restoreFinish(free: Uint32Array): void {
    const keys = this.#restoring ?? new Uint32Array(0);
    this.#restoring = undefined;
    const unused = new Uint8Array(this.#high);
    for (const id of free) {
      if (id >= this.#high) throw new RangeError(`free id ${id} is not below ${this.#high}`);
      unused[id] = 1;
    }
    this.#free = Array.from(free);
    this.#slots = slotsFor(this.#high - free.length);
    this.#clearSlots();
    for (let id = 0; id < this.#high; id++) {
      if (unused[id]) continue;
      const slot = this.#slotOf(keys.subarray(id * 4, id * 4 + 4));
      this.#place(slot, keys.subarray(id * 4, id * 4 + 4), USED, id);
      this.#size += 1;
    }
  }

  #makeColumns(capacity: number): Columns<C> {
    return Object.fromEntries(Object.entries(this.#columnTypes).map(([name, Type]) => [name, new Type(capacity)])) as Columns<C>;
  }

  #clearSlots(): void {
    this.#keys = new Uint32Array(this.#slots * 4);
    this.#state = new Uint8Array(this.#slots);
    if (this.#ids) this.#ids = new Int32Array(this.#slots);
  }

  /** The id of the digest in `slot`. @throws TypeError on a table without ids */
  #idAt(slot: number): number {
    if (!this.#ids) throw new TypeError('this digest table has no ids');
    return this.#ids[slot]!;
  }

  #home(key0: number): number {
    return Math.floor((key0 / 0x1_0000_0000) * this.#slots);
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  #slotOf(key: Uint32Array): number {
    const keys = this.#keys;
    const state = this.#state;
    const n = this.#slots;
    let slot = this.#home(key[0]!);
    for (;;) {
      if (state[slot] === 0) return slot;
      const o = slot * 4;
      if (keys[o] === key[0] && keys[o + 1] === key[1] && keys[o + 2] === key[2] && keys[o + 3] === key[3]) return slot;
      slot = slot + 1 === n ? 0 : slot + 1;
    }
  }

  /** The slot of `key`, added when absent (with a new id and zeroed columns in a table with ids). */
  #insert(key: Uint32Array): number {
    let slot = this.#slotOf(key);
    if (this.#state[slot] !== 0) return slot;
    if ((this.#size + 1) / this.#slots > MAX_LOAD) {
      this.#resize(this.#slots * 2);
      slot = this.#slotOf(key);
    }
    let id = -1;
    if (this.#ids) {
      id = this.#free.pop() ?? this.#high++;
      if (id >= this.#capacity) this.#growColumns();
      for (const column of Object.values(this.#columns)) column[id] = 0;
    }
    this.#place(slot, key, USED, id);
    this.#size += 1;
    return slot;
  }

  /** Puts the digest of `key` (state byte `state`, id `id` in a table with ids) into `slot`. */
  #place(slot: number, key: Uint32Array, state: number, id: number): void {
    this.#keys.set(key.subarray(0, 4), slot * 4);
    this.#state[slot] = state;
    if (this.#ids) {
      this.#ids[slot] = id;
      this.#slotOfId[id] = slot;
    }
  }

  /** Empties `slot` by backward shift: later entries of its probe run move into the hole. */
  #removeSlot(slot: number): void {
    const n = this.#slots;
    if (this.#ids) {
      const id = this.#ids[slot]!;
      this.#slotOfId[id] = -1;
      this.#free.push(id);
    }
    let next = slot + 1 === n ? 0 : slot + 1;
    while (this.#state[next] !== 0) {
      const home = this.#home(this.#keys[next * 4]!);
      if ((next - home + n) % n >= (next - slot + n) % n) {
        this.#place(slot, this.#keys.subarray(next * 4, next * 4 + 4), this.#state[next]!, this.#ids?.[next] ?? -1);
        slot = next;
      }
      next = next + 1 === n ? 0 : next + 1;
    }
    this.#state[slot] = 0;
    this.#size -= 1;
  }

  /** Moves every digest into a table of `slots` slots (ids stay). */
  #resize(slots: number): void {
    const keys = this.#keys;
    const state = this.#state;
    const ids = this.#ids;
    this.#slots = slots;
    this.#clearSlots();
    for (let s = 0; s < state.length; s++) {
      if (state[s] === 0) continue;
      const key = keys.subarray(s * 4, s * 4 + 4);
      this.#place(this.#slotOf(key), key, state[s]!, ids?.[s] ?? -1);
    }
  }

  /** Doubles the id capacity: every column and the id -> slot map. */
  #growColumns(): void {
    this.#capacity *= 2;
    const slotOfId = new Int32Array(this.#capacity).fill(-1);
    slotOfId.set(this.#slotOfId);
    this.#slotOfId = slotOfId;
    const grown = this.#makeColumns(this.#capacity) as Record<string, Float64Array | Uint32Array | Uint8Array>;
    for (const name of Object.keys(grown)) grown[name]!.set(this.#columns[name as keyof C] as ArrayLike<number>);
    this.#columns = grown as Columns<C>;
  }
}
