/**
 * A compact set of digests with a few flag bits each: garbage collection's mark set (mark.ts) over
 * every blob of the store, millions of them in a large registry. Each digest takes 17 bytes of one
 * slot (its key, 4 x 32 bits, and a flags byte) in a table at most three quarters full: about 23 bytes
 * per digest, in two typed arrays the JavaScript heap's collector never scans, against a few hundred
 * bytes for a string in a `Set` (or 25 bytes plus an id slot array in registry/digest-table.ts).
 *
 * A digest is kept as the first 128 bits of its hash (its first 32 hex characters), as in
 * registry/digest-table.ts: two digests share them by chance with a probability of about n^2 / 2^129
 * (1e-26 for 2.4 million blobs), and an attacker would need 2^64 hash computations to make two of them
 * share. For garbage collection a shared key can only merge two entries' flags, which keeps more
 * (a stored blob that looks marked is kept, a link that looks stored is not called dangling): never less.
 *
 * Open addressing with linear probing; the home slot is the key's first word scaled to the table's
 * length (the hash's bits are uniform already), so the table can be sized exactly for an expected
 * count ({@link DigestFlags.reserve}) and never rehashed. Nothing is ever removed.
 */
import type { Digest } from '../oci/digest.js';

/** The most a table is filled before it grows (fraction of its slots). */
const MAX_LOAD = 0.75;
const MIN_SLOTS = 1024;
/** flags bit set in every used slot, so a digest held with no flag of the caller's is told from an empty slot */
const USED = 0x80;

/** The value (0-15) of hex character code `c` ('0'-'9', 'a'-'f', 'A'-'F'). */
function nibble(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** Writes into `into` the 4 words of `digest`: its first 32 hex characters after the colon, 8 per word. */
export function digestKey(digest: string, into: Uint32Array): void {
  let o = digest.indexOf(':') + 1;
  for (let w = 0; w < 4; w++) {
    let v = 0;
    for (const end = o + 8; o < end; o++) v = (v << 4) | nibble(digest.charCodeAt(o));
    into[w] = v >>> 0;
  }
}

/** A set of digests with up to 7 flag bits each (see the module comment). */
export class DigestFlags {
  #keys: Uint32Array;
  /** per slot: USED | the caller's flags, 0 when empty */
  #flags: Uint8Array;
  #slots: number;
  #size = 0;
  readonly #key = new Uint32Array(4);

  /** @param expected how many digests it will likely hold (it grows beyond, at a cost) */
  constructor(expected = 0) {
    this.#slots = DigestFlags.#slotsFor(expected);
    this.#keys = new Uint32Array(this.#slots * 4);
    this.#flags = new Uint8Array(this.#slots);
  }

  static #slotsFor(count: number): number {
    return Math.max(MIN_SLOTS, Math.ceil(count / MAX_LOAD) + 1);
  }

  /** How many digests the set holds. */
  get size(): number {
    return this.#size;
  }

  /** How many slots the table has (memory: 17 bytes each). */
  get slots(): number {
    return this.#slots;
  }

  /** Makes room for `count` digests in all, at most once: no growth until then. */
  reserve(count: number): void {
    if (count / MAX_LOAD > this.#slots) this.#resize(DigestFlags.#slotsFor(count));
  }

  /** The flags of `digest` (0-127), 0 when the set does not hold it. */
  get(digest: Digest | string): number {
    digestKey(digest, this.#key);
    const slot = this.#slotOf(this.#key);
    return this.#flags[slot]! & ~USED;
  }

  /** True when the set holds `digest` (with or without flags). */
  has(digest: Digest | string): boolean {
    digestKey(digest, this.#key);
    return this.#flags[this.#slotOf(this.#key)] !== 0;
  }

  /** Adds `digest` when absent and sets `bits` (0-127) among its flags. */
  set(digest: Digest | string, bits: number): void {
    digestKey(digest, this.#key);
    let slot = this.#slotOf(this.#key);
    if (this.#flags[slot] === 0) {
      if ((this.#size + 1) / this.#slots > MAX_LOAD) {
        this.#resize(this.#slots * 2);
        slot = this.#slotOf(this.#key);
      }
      this.#keys.set(this.#key, slot * 4);
      this.#size += 1;
    }
    this.#flags[slot]! |= USED | (bits & ~USED);
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  #slotOf(key: Uint32Array): number {
    const keys = this.#keys;
    const flags = this.#flags;
    const n = this.#slots;
    let slot = Math.floor((key[0]! / 0x1_0000_0000) * n);
    for (;;) {
      if (flags[slot] === 0) return slot;
      const o = slot * 4;
      if (keys[o] === key[0] && keys[o + 1] === key[1] && keys[o + 2] === key[2] && keys[o + 3] === key[3]) return slot;
      slot = slot + 1 === n ? 0 : slot + 1;
    }
  }

  /** Moves every digest into a table of `slots` slots. */
  #resize(slots: number): void {
    const oldKeys = this.#keys;
    const oldFlags = this.#flags;
    this.#slots = slots;
    this.#keys = new Uint32Array(slots * 4);
    this.#flags = new Uint8Array(slots);
    const key = new Uint32Array(4);
    for (let s = 0; s < oldFlags.length; s++) {
      if (oldFlags[s] === 0) continue;
      key.set(oldKeys.subarray(s * 4, s * 4 + 4));
      const slot = this.#slotOf(key);
      this.#keys.set(key, slot * 4);
      this.#flags[slot] = oldFlags[s]!;
    }
  }
}
