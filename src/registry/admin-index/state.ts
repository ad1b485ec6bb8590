/**
 * The admin index's data, in memory and compact: every blob the store holds or a manifest references
 * (its size and how many repositories reference it, in a {@link DigestTable}), and per repository its
 * counts, its last push and the blobs it references (sorted ids; the entry's shape is in
 * repository-entry.ts). From these a repository's bytes are split into unique (referenced by no other
 * repository) and shared, as the admin API reports them.
 * Pure: what is stored is read elsewhere (scan.ts) and set here.
 */
import type { Digest } from '../../oci/digest.js';
import type { RepositoryName } from '../../oci/reference.js';
import { DigestTable } from '../digest-table.js';
import { lexical } from '../pagination.js';
import type { RepositoryBytes, RepositoryEntry, RepositoryFacts } from './repository-entry.js';
import { binarySearch, union } from './sorted-ids.js';

const STORED = 1;
/** a walk's mark (not stored yet as far as the index knows): `size` holds the size a manifest's descriptor gives */
const DESCRIBED = 2;
/** a walk's mark: two descriptors gave different sizes, so only a stat tells */
const UNSURE = 4;
const EMPTY = new Uint32Array(0);

/** The index's data (see the module comment). */
export class IndexState {
  readonly blobs = new DigestTable({ size: Float64Array, holders: Uint32Array, flags: Uint8Array });
  readonly #repositories = new Map<RepositoryName, RepositoryEntry>();
  /** every repository name, in lexical order; replaced (never changed in place) on a change */
  #names: readonly RepositoryName[] = [];
  #namesSorted = true;
  #storedCount = 0;
  #storedBytes = 0;
  /** the sums of every repository's tags and manifests, kept as entries change */
  #tagTotal = 0;
  #manifestTotal = 0;
  /** bumped whenever a blob's size or holder count changes: repositories' bytes computed before are stale */
  blobGeneration = 0;
  /** bumped on every change */
  generation = 0;

  /** The repository's entry, or undefined. */
  repository(name: RepositoryName): RepositoryEntry | undefined {
    return this.#repositories.get(name);
  }

  /** Every repository name in lexical order (do not change the array). */
  names(): readonly RepositoryName[] {
    if (!this.#namesSorted) {
      this.#names = [...this.#repositories.keys()].sort(lexical);
      this.#namesSorted = true;
    }
    return this.#names;
  }

  /** How many repositories. */
  get repositoryCount(): number {
    return this.#repositories.size;
  }

  /** Blobs stored, and their bytes. */
  get stored(): { count: number; bytes: number } {
    return { count: this.#storedCount, bytes: this.#storedBytes };
  }

  /** Tags and manifest revisions of every repository together. */
  get totals(): { tags: number; manifests: number } {
    return { tags: this.#tagTotal, manifests: this.#manifestTotal };
  }

  /** The stored size of `digest`, or undefined when the index does not know it as stored. */
  sizeOf(digest: Digest): number | undefined {
    const id = this.blobs.id(digest);
    return id >= 0 && (this.blobs.columns.flags[id]! & STORED) !== 0 ? this.blobs.columns.size[id]! : undefined;
  }

  /** Records blob `digest` as stored with `size` bytes, or (size undefined) as not stored. */
  setBlob(digest: Digest, size: number | undefined): void {
    if (size === undefined) {
      const id = this.blobs.id(digest);
      if (id < 0) return;
      const { flags, size: sizes, holders } = this.blobs.columns;
      if (flags[id]! & STORED) {
        this.#storedCount -= 1;
        this.#storedBytes -= sizes[id]!;
        flags[id] = 0;
        sizes[id] = 0;
        this.#changed(true);
      }
      if (holders[id] === 0) this.blobs.remove(digest);
      return;
    }
    const id = this.blobs.add(digest);
    const { flags, size: sizes } = this.blobs.columns;
    if (flags[id]! & STORED && sizes[id] === size) return;
    if (flags[id]! & STORED) this.#storedBytes -= sizes[id]!;
    else this.#storedCount += 1;
    flags[id] = STORED;
    sizes[id] = size;
    this.#storedBytes += size;
    this.#changed(true);
  }

  /**
   * Notes (during a walk) the size a manifest's descriptor gives of `digest`, a blob the index holds
   * as referenced and not (yet) as stored; nothing when it is stored or not referenced. Two different
   * sizes make it unsure ({@link describedSize} undefined). Changes no figure: a blob counts once stored.
   */
  describe(digest: Digest, size: number): void {
    const id = this.blobs.id(digest);
    if (id < 0) return;
    const { flags, size: sizes } = this.blobs.columns;
    if (flags[id]! & STORED) return;
    if (flags[id]! & DESCRIBED && sizes[id] !== size) flags[id] = flags[id]! | UNSURE;
    flags[id] = flags[id]! | DESCRIBED;
    sizes[id] = size;
  }

  /** The size descriptors gave of `digest` (see {@link describe}), or undefined (none, two different, or stored). */
  describedSize(digest: Digest): number | undefined {
    const id = this.blobs.id(digest);
    return id >= 0 && this.blobs.columns.flags[id] === DESCRIBED ? this.blobs.columns.size[id]! : undefined;
  }

  /** Drops every {@link describe} mark of blobs still not stored, after a walk (a snapshot holds stored sizes only). */
  forgetDescribed(): void {
    const { flags, size } = this.blobs.columns;
    for (let id = 0; id < this.blobs.idBound; id++) {
      if ((flags[id]! & STORED) !== 0 || flags[id] === 0) continue;
      flags[id] = 0;
      size[id] = 0;
    }
  }

  /**
   * Counts the stored blobs and their bytes again from the blob table, after its contents were
   * restored whole (a snapshot read back into {@link blobs}).
   */
  recountStored(): void {
    const { size, flags } = this.blobs.columns;
    let count = 0;
    let bytes = 0;
    // an id not in use has no flags: a blob leaves the table only once it is not stored (setBlob, #setRefs)
    for (let id = 0; id < this.blobs.idBound; id++) {
      if ((flags[id]! & STORED) === 0) continue;
      count += 1;
      bytes += size[id]!;
    }
    this.#storedCount = count;
    this.#storedBytes = bytes;
    this.#changed(true);
  }

  /**
   * Adds a repository read from a snapshot, its references as sorted distinct blob ids, whose holder
   * counts the restored blob table already includes (so they are not counted again).
   */
  restoreRepository(name: RepositoryName, facts: { tags: number; manifests: number; lastPush: number; ids: Uint32Array }): void {
    const entry = this.#entry(name);
    this.#counts(entry, facts.tags, facts.manifests);
    entry.lastPush = facts.lastPush;
    entry.refs = facts.ids;
  }

  /**
   * Adds a repository's figures read from a snapshot's rows (a state that holds no references: its
   * bytes are the ones given, until a blob changes).
   */
  restoreRow(name: RepositoryName, row: { tags: number; manifests: number; lastPush: number; bytes: RepositoryBytes }): void {
    const entry = this.#entry(name);
    this.#counts(entry, row.tags, row.manifests);
    entry.lastPush = row.lastPush;
    entry.bytes = row.bytes;
    entry.bytesAt = this.blobGeneration;
  }

  /** Sets the stored blobs' totals, read from a snapshot, for a state that holds no blob table. */
  restoreStored(count: number, bytes: number): void {
    this.#storedCount = count;
    this.#storedBytes = bytes;
  }

  /** Takes `names` (every repository, as restored) as the name order when it is in lexical order (as a snapshot writes it), saving a sort. */
  restoreNames(names: RepositoryName[]): void {
    if (names.length !== this.#repositories.size) return;
    for (let i = 1; i < names.length; i++) if (lexical(names[i - 1]!, names[i]!) >= 0) return;
    this.#names = names;
    this.#namesSorted = true;
  }

  /** Every repository as a snapshot writes it: copies of its facts, in name order, taken at once with {@link DigestTable.image}. */
  repositoriesImage(): { name: RepositoryName; tags: number; manifests: number; lastPush: number; refs: Uint32Array; bytes: RepositoryBytes }[] {
    return this.names().map((name) => {
      const entry = this.#repositories.get(name)!;
      const { tags, manifests, lastPush, refs } = entry;
      return { name, tags, manifests, lastPush, refs, bytes: this.bytes(entry) };
    });
  }

  /** Sets repository `name`'s facts (adding it when absent). */
  setRepository(name: RepositoryName, facts: RepositoryFacts): void {
    const entry = this.#entry(name);
    this.#counts(entry, facts.tags, facts.manifests);
    entry.lastPush = facts.lastPush;
    this.#setRefs(entry, this.#ids(facts.refs));
    this.#changed(false);
  }

  /** Updates part of repository `name`'s facts (adding it, empty, when absent). */
  updateRepository(name: RepositoryName, update: { tags?: number; manifests?: number; lastPush?: number; addRefs?: Iterable<Digest> }): RepositoryEntry {
    const entry = this.#entry(name);
    this.#counts(entry, update.tags ?? entry.tags, update.manifests ?? entry.manifests);
    if (update.lastPush !== undefined) entry.lastPush = update.lastPush;
    if (update.addRefs) this.#setRefs(entry, union(entry.refs, this.#ids(update.addRefs)));
    this.#changed(false);
    return entry;
  }

  /** Removes repository `name` (its references released). */
  removeRepository(name: RepositoryName): void {
    const entry = this.#repositories.get(name);
    if (!entry) return;
    this.#setRefs(entry, EMPTY);
    this.#counts(entry, 0, 0);
    this.#repositories.delete(name);
    this.#namesSorted = false;
    this.#changed(false);
  }

  /** The bytes of `entry`, computed again only when a blob changed since. */
  bytes(entry: RepositoryEntry): RepositoryBytes {
    if (entry.bytesAt === this.blobGeneration) return entry.bytes;
    const { size, holders, flags } = this.blobs.columns;
    let unique = 0;
    let shared = 0;
    for (const id of entry.refs) {
      if ((flags[id]! & STORED) === 0) continue;
      if (holders[id]! > 1) shared += size[id]!;
      else unique += size[id]!;
    }
    entry.bytes = { unique, shared, total: unique + shared };
    entry.bytesAt = this.blobGeneration;
    return entry.bytes;
  }

  /** True when `entry` references `digest`. */
  references(entry: RepositoryEntry, digest: Digest): boolean {
    const id = this.blobs.id(digest);
    return id >= 0 && binarySearch(entry.refs, id) >= 0;
  }

  #entry(name: RepositoryName): RepositoryEntry {
    let entry = this.#repositories.get(name);
    if (!entry) {
      entry = { name, tags: 0, manifests: 0, lastPush: 0, refs: EMPTY, bytes: { unique: 0, shared: 0, total: 0 }, bytesAt: -1 };
      this.#repositories.set(name, entry);
      this.#namesSorted = false;
    }
    return entry;
  }

  /** Sets `entry`'s tag and manifest counts, the totals with them. */
  #counts(entry: RepositoryEntry, tags: number, manifests: number): void {
    this.#tagTotal += tags - entry.tags;
    this.#manifestTotal += manifests - entry.manifests;
    entry.tags = tags;
    entry.manifests = manifests;
  }

  /** The sorted distinct ids of `digests`, added to the blob table (not stored) when unknown. */
  #ids(digests: Iterable<Digest>): Uint32Array {
    const ids: number[] = [];
    for (const d of digests) ids.push(this.blobs.add(d));
    return Uint32Array.from(new Set(ids)).sort();
  }

  /** Replaces `entry`'s references, counting holders up and down; blobs neither stored nor referenced leave the table. */
  #setRefs(entry: RepositoryEntry, next: Uint32Array): void {
    const previous = entry.refs;
    const { holders, flags } = this.blobs.columns;
    let i = 0;
    let j = 0;
    const released: number[] = [];
    while (i < previous.length || j < next.length) {
      const a = i < previous.length ? previous[i]! : Infinity;
      const b = j < next.length ? next[j]! : Infinity;
      if (a === b) {
        i += 1;
        j += 1;
      } else if (a < b) {
        holders[a] = holders[a]! - 1;
        if (holders[a] === 0 && (flags[a]! & STORED) === 0) released.push(a);
        i += 1;
      } else {
        holders[b] = holders[b]! + 1;
        j += 1;
      }
    }
    entry.refs = next;
    if (previous !== next) this.blobGeneration += 1;
    for (const id of released) this.blobs.removeId(id);
  }

  #changed(blob: boolean): void {
    this.generation += 1;
    if (blob) this.blobGeneration += 1;
  }
}
