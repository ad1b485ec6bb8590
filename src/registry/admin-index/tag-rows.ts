/**
 * `GET /admin/v1/repositories/{name}/tags`: every tag of a repository with its digest, media type,
 * platforms, size and push time (what a manifest is: tag-info.ts), filtered, sorted and paginated
 * (listing.ts). Two ways to a page, so that the first screen of a repository of many tags shows
 * quickly, right after a start too (issue 17):
 *
 * - **By name** (the default sort, the table's first screen): the tag names come from one listing of
 *   the repository's tags, already in lexical order; they are filtered and cut into the page, and only
 *   the page's rows are read (each tag's link and what its manifest is): about three small reads per
 *   row, whatever the repository's size. `total` is then the number of tag names listed (a tag whose
 *   manifest is gone is counted, and left out of its page).
 * - **By push time or size**: every row is needed to sort. A repository's rows are read once and kept
 *   until an event concerns the repository (the admin index's per-repository generation), within a
 *   budget of rows; a page by name is cut from them too while they are kept. A repository with more
 *   tags than half that budget keeps only its sort keys instead (tag, push time and size: typed
 *   arrays, about 50 bytes a tag, within a budget of their own), read without keeping its manifests'
 *   bytes or configs; each page then reads its own rows. Tags are read a bounded number at a time
 *   (no promise per tag up front), and once the keys of such a repository are read the process
 *   gives the heap their reading grew back (gc/give-back.ts).
 *
 * After a page by name of a repository whose rows are not kept, its rows are read in the background,
 * {@link WARM_READS} reads at a time (the page's own reads do not queue behind them), so that a sort
 * by push time or size that follows answers at once; a request that needs them meanwhile joins that
 * reading and raises it to full concurrency.
 */
import { LRUCache } from 'lru-cache';
import type { LimitFunction } from 'p-limit';
import type { Digest } from '../../oci/digest.js';
import { isTag, type RepositoryName, type Tag } from '../../oci/reference.js';
import type { StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import { giveMemoryBack } from '../../gc/give-back.js';
import { forEachLimit, limiter } from '../limit.js';
import type { ManifestStore } from '../manifests.js';
import type { AdminIndex } from './admin-index.js';
import { compareKeys, page, type ListPage, type ListQuery } from './listing.js';
import type { IndexState } from './state.js';
import { absent, ManifestInfos, type ManifestInfo, type Platform } from './tag-info.js';

export type { Platform } from './tag-info.js';

/** What the admin API reports of one tag. */
export interface TagSummary {
  tag: Tag;
  digest: Digest;
  /** the manifest's media type, as pushed */
  mediaType: string;
  platforms: Platform[];
  /** bytes (see tag-info.ts) */
  size: number;
  /** when the tag was pushed (ISO 8601) */
  pushedAt: string;
}

/** The keys a tag list sorts by; the first is the default. */
export const TAG_SORTS = ['name', 'pushedAt', 'size'] as const;

/** A key of {@link TAG_SORTS}. */
export type TagSort = (typeof TAG_SORTS)[number];

interface Row {
  tag: Tag;
  pushedAt: number;
  pushedAtText: string;
  info: ManifestInfo;
}

/** The sort keys of every tag of a repository too large for its rows to be kept, in tag order. */
interface Keys {
  generation: string;
  tags: Tag[];
  /** ms since the epoch, by tag */
  pushedAt: Float64Array;
  /** bytes, by tag */
  size: Float64Array;
}

/** A reading of every row (or the keys) of a repository, under way. */
interface Fill {
  generation: string;
  read: LimitFunction;
  rows: Promise<Row[] | Keys>;
}

/** How many rows and keys are kept (see the module comment). */
export interface TagRowsLimits {
  /** rows kept for all repositories together (about 100 bytes each); a repository over half keeps keys */
  rowsBudget: number;
  /** sort keys kept for all repositories together (about 50 bytes each) */
  keysBudget: number;
}

/** The default {@link TagRowsLimits}. */
export const TAG_ROWS_LIMITS: TagRowsLimits = { rowsBudget: 100_000, keysBudget: 400_000 };
/** Tags read at a time by one reading of a repository's rows (their storage reads also wait for the reading's limiter). */
const IN_FLIGHT = 64;
/** Storage reads at a time for a request's rows. */
const READS = 16;
/** Storage reads at a time for the rows read in the background after a page by name. */
export const WARM_READS = 4;

/** The tag rows of repositories (see the module comment). */
export class TagRows {
  readonly #read = limiter(READS);
  readonly #infos: ManifestInfos;
  readonly #rows: LRUCache<RepositoryName, { generation: string; rows: Row[] }>;
  readonly #keys: LRUCache<RepositoryName, Keys>;
  readonly #fills = new Map<RepositoryName, Fill>();

  /** @param limits what is kept (tests give small ones) */
  constructor(
    private readonly driver: StorageDriver,
    private readonly manifests: ManifestStore,
    private readonly index: AdminIndex,
    private readonly limits: TagRowsLimits = TAG_ROWS_LIMITS,
  ) {
    this.#infos = new ManifestInfos(driver, manifests);
    this.#rows = new LRUCache({ maxSize: limits.rowsBudget, sizeCalculation: (v) => Math.max(1, v.rows.length) });
    this.#keys = new LRUCache({ maxSize: limits.keysBudget, maxEntrySize: limits.keysBudget, sizeCalculation: (v) => Math.max(1, v.tags.length) });
  }

  /** How many rows and sort keys are kept now, for all repositories together (bounded by the limits). */
  kept(): { rows: number; keys: number } {
    return { rows: this.#rows.calculatedSize, keys: this.#keys.calculatedSize };
  }

  /** One page of the tags of repository `name`. */
  async list(name: RepositoryName, query: ListQuery<TagSort>): Promise<ListPage<TagSummary>> {
    const state = await this.index.ready();
    const generation = this.index.generationOf(name);
    const kept = this.#rows.get(name);
    if (kept?.generation === generation) return pageOfRows(kept.rows, query);
    const keys = this.#keys.get(name);
    if (keys?.generation === generation) return this.#pageOfKeys(state, name, keys, query);
    if (query.sort !== 'name') {
      const all = await this.#all(name, state, generation, READS);
      return Array.isArray(all) ? pageOfRows(all, query) : this.#pageOfKeys(state, name, all, query);
    }
    const names = (await this.driver.list(layout.tags(name))).filter(isTag);
    const matching = query.q === undefined ? names : names.filter((t) => t.includes(query.q!));
    const cut = page(query.order === 'desc' ? [...matching].reverse() : matching, query, nameOf, nameOf);
    const rows = await Promise.all(cut.items.map((t) => this.#row(state, name, t, this.#read)));
    if (names.length <= this.limits.rowsBudget / 2) this.#all(name, state, generation, WARM_READS, names).catch(() => undefined);
    return { ...cut, items: rows.filter((r): r is Row => r !== undefined).map(summaryOf) };
  }

  /**
   * Every row of `name`, by tag, read `reads` at a time (joining a reading under way, raised to
   * `reads`); kept when the repository's rows fit the budget, else its sort keys instead.
   * @param listed the repository's tags, when just listed
   */
  #all(name: RepositoryName, state: IndexState, generation: string, reads: number, listed?: Tag[]): Promise<Row[] | Keys> {
    const running = this.#fills.get(name);
    if (running?.generation === generation) {
      running.read.concurrency = Math.max(running.read.concurrency, reads);
      return running.rows;
    }
    const read = limiter(reads);
    const rows = (async (): Promise<Row[] | Keys> => {
      const tags = listed ?? (await read(() => this.driver.list(layout.tags(name)))).filter(isTag);
      if (tags.length > this.limits.rowsBudget / 2) {
        const keys = await this.#readKeys(state, name, generation, tags, read);
        this.#keys.set(name, keys);
        giveMemoryBack();
        return keys;
      }
      const byIndex = new Array<Row | undefined>(tags.length);
      await forEachLimit(tags.keys(), IN_FLIGHT, async (i) => {
        byIndex[i] = await this.#row(state, name, tags[i]!, read);
      });
      const found = byIndex.filter((r): r is Row => r !== undefined);
      this.#rows.set(name, { generation, rows: found });
      return found;
    })().finally(() => {
      if (this.#fills.get(name)?.rows === rows) this.#fills.delete(name);
    });
    this.#fills.set(name, { generation, read, rows });
    return rows;
  }

  /** The sort keys of `tags` (listed in tag order), a tag deleted since or whose manifest is gone left out. */
  async #readKeys(state: IndexState, name: RepositoryName, generation: string, tags: Tag[], read: LimitFunction): Promise<Keys> {
    const pushedAt = new Float64Array(tags.length);
    const size = new Float64Array(tags.length).fill(Number.NaN);
    await forEachLimit(tags.keys(), IN_FLIGHT, async (i) => {
      const link = await read(() => this.manifests.resolveTag(name, tags[i]!)).catch(absent);
      const bytes = link && (await this.#infos.sizeOf(state, name, link.digest, read));
      if (!link || bytes === undefined) return;
      const t = Date.parse(link.pushedAt);
      pushedAt[i] = Number.isNaN(t) ? 0 : t;
      size[i] = bytes;
    });
    const present = [...tags.keys()].filter((i) => !Number.isNaN(size[i]));
    return {
      generation,
      tags: present.map((i) => tags[i]!),
      pushedAt: Float64Array.from(present, (i) => pushedAt[i]!),
      size: Float64Array.from(present, (i) => size[i]!),
    };
  }

  /** One page of a repository whose sort keys are kept: sorted and cut by the keys, then the page's rows read. */
  async #pageOfKeys(state: IndexState, name: RepositoryName, keys: Keys, query: ListQuery<TagSort>): Promise<ListPage<TagSummary>> {
    const tagOf = (i: number): string => keys.tags[i]!;
    const key = (i: number): number | string => (query.sort === 'name' ? keys.tags[i]! : query.sort === 'size' ? keys.size[i]! : keys.pushedAt[i]!);
    let order = [...keys.tags.keys()];
    if (query.q !== undefined) order = order.filter((i) => keys.tags[i]!.includes(query.q!));
    if (query.sort !== 'name' || query.order === 'desc') order.sort((a, b) => compareKeys(query.order, key(a), tagOf(a), key(b), tagOf(b)));
    const cut = page(order, query, tagOf, key);
    const rows = await Promise.all(cut.items.map((i) => this.#row(state, name, keys.tags[i]!, this.#read)));
    return { ...cut, items: rows.filter((r): r is Row => r !== undefined).map(summaryOf) };
  }

  /** The row of tag `tag`; undefined when it was deleted since the listing or its manifest is gone. */
  async #row(state: IndexState, name: RepositoryName, tag: Tag, read: LimitFunction): Promise<Row | undefined> {
    const link = await read(() => this.manifests.resolveTag(name, tag)).catch(absent);
    if (!link) return undefined;
    const info = await this.#infos.of(state, name, link.digest, read);
    if (!info) return undefined;
    const t = Date.parse(link.pushedAt);
    return { tag, pushedAt: Number.isNaN(t) ? 0 : t, pushedAtText: link.pushedAt, info };
  }
}

const nameOf = (tag: Tag): string => tag;

/** What the API answers of a row. */
function summaryOf(r: Row): TagSummary {
  return { tag: r.tag, digest: r.info.digest, mediaType: r.info.mediaType, platforms: r.info.platforms, size: r.info.size, pushedAt: r.pushedAtText };
}

/** One page of `rows` (every row of a repository, by tag), filtered and sorted as `query` says. */
function pageOfRows(rows: Row[], query: ListQuery<TagSort>): ListPage<TagSummary> {
  if (query.q !== undefined) rows = rows.filter((r) => r.tag.includes(query.q!));
  const key = (r: Row): number | string => (query.sort === 'name' ? r.tag : query.sort === 'size' ? r.info.size : r.pushedAt);
  if (query.sort !== 'name' || query.order === 'desc') rows = [...rows].sort((a, b) => compareKeys(query.order, key(a), a.tag, key(b), b.tag));
  const cut = page(rows, query, (r) => r.tag, key);
  return { ...cut, items: cut.items.map(summaryOf) };
}
