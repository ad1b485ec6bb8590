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
 *   budget of rows; a page by name is cut from them too while they are kept.
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
import { limiter } from '../limit.js';
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

/** A reading of every row of a repository, under way. */
interface Fill {
  generation: string;
  read: LimitFunction;
  rows: Promise<Row[]>;
}

/** Rows kept for all repositories together (about 100 bytes each). */
const ROWS_BUDGET = 100_000;
/** Storage reads at a time for a request's rows. */
const READS = 16;
/** Storage reads at a time for the rows read in the background after a page by name. */
export const WARM_READS = 4;

/** The tag rows of repositories (see the module comment). */
export class TagRows {
  readonly #read = limiter(READS);
  readonly #infos: ManifestInfos;
  readonly #rows = new LRUCache<RepositoryName, { generation: string; rows: Row[] }>({ maxSize: ROWS_BUDGET, sizeCalculation: (v) => Math.max(1, v.rows.length) });
  readonly #fills = new Map<RepositoryName, Fill>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly manifests: ManifestStore,
    private readonly index: AdminIndex,
  ) {
    this.#infos = new ManifestInfos(driver, manifests);
  }

  /** One page of the tags of repository `name`. */
  async list(name: RepositoryName, query: ListQuery<TagSort>): Promise<ListPage<TagSummary>> {
    const state = await this.index.ready();
    const generation = this.index.generationOf(name);
    const kept = this.#rows.get(name);
    if (kept?.generation === generation) return pageOfRows(kept.rows, query);
    if (query.sort !== 'name') return pageOfRows(await this.#all(name, state, generation, READS), query);
    const names = (await this.driver.list(layout.tags(name))).filter(isTag);
    const matching = query.q === undefined ? names : names.filter((t) => t.includes(query.q!));
    const cut = page(query.order === 'desc' ? [...matching].reverse() : matching, query, nameOf, nameOf);
    const rows = await Promise.all(cut.items.map((t) => this.#row(state, name, t, this.#read)));
    if (names.length <= ROWS_BUDGET / 2) this.#all(name, state, generation, WARM_READS, names).catch(() => undefined);
    return { ...cut, items: rows.filter((r): r is Row => r !== undefined).map(summaryOf) };
  }

  /**
   * Every row of `name`, by tag, read `reads` at a time (joining a reading under way, raised to
   * `reads`); kept when the repository's rows fit the budget.
   * @param listed the repository's tags, when just listed
   */
  #all(name: RepositoryName, state: IndexState, generation: string, reads: number, listed?: Tag[]): Promise<Row[]> {
    const running = this.#fills.get(name);
    if (running?.generation === generation) {
      running.read.concurrency = Math.max(running.read.concurrency, reads);
      return running.rows;
    }
    const read = limiter(reads);
    const rows = (async () => {
      const tags = listed ?? (await read(() => this.driver.list(layout.tags(name)))).filter(isTag);
      const found = (await Promise.all(tags.map((t) => this.#row(state, name, t, read)))).filter((r): r is Row => r !== undefined);
      if (found.length <= ROWS_BUDGET / 2) this.#rows.set(name, { generation, rows: found });
      return found;
    })().finally(() => {
      if (this.#fills.get(name)?.rows === rows) this.#fills.delete(name);
    });
    this.#fills.set(name, { generation, read, rows });
    return rows;
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
