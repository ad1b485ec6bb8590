/**
 * Server-side filter, sort and cursor pagination of the admin API's lists (repositories, a
 * repository's tags): `q` keeps the entries whose name contains it, `sort` names the key and `order`
 * its direction (ties broken by name, ascending), `n` is the page size, and `cursor` (opaque: the
 * previous page's `next`) continues after the last entry of the previous page, by its key and name
 * (keyset pagination): entries added or removed meanwhile move no other entry across a page boundary.
 * A cursor carries the sort, order and filter it was made with.
 */
import { RegistryError } from '../../oci/errors.js';
import { lexical } from '../pagination.js';

/** How a list is cut: filter, sort key and direction, page size, and where to continue. */
export interface ListQuery<K extends string> {
  sort: K;
  order: 'asc' | 'desc';
  /** keep names containing this (case-sensitive, as names are) */
  q: string | undefined;
  /** page size; undefined for all */
  n: number | undefined;
  /** continue after this entry (from a cursor, or `last` for a list by name) */
  after: { value: number | string; name: string } | undefined;
}

/** One page: the entries, how many match the filter, and the cursor of the next page (null at the end). */
export interface ListPage<T> {
  items: T[];
  total: number;
  next: string | null;
}

/** The raw query parameters of a list request. */
export interface ListParams {
  sort?: string;
  order?: string;
  q?: string;
  n?: number;
  cursor?: string;
  last?: string;
}

function invalid(message: string, detail: Record<string, unknown>): RegistryError {
  return new RegistryError('QUERY_INVALID', { message, detail });
}

/**
 * Parses a list's parameters.
 * @param keys the sort keys the list has; the first is the default (the name)
 * @throws RegistryError QUERY_INVALID for an unknown sort key or order, a malformed cursor, a cursor
 *   given with other sort, order or filter, or `last` with a sort other than the name
 */
export function parseListQuery<K extends string>(params: ListParams, keys: readonly K[]): ListQuery<K> {
  if (params.cursor !== undefined) {
    let decoded: { s?: unknown; o?: unknown; q?: unknown; v?: unknown; k?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(params.cursor, 'base64url').toString('utf8')) as typeof decoded;
    } catch {
      throw invalid('cursor is not one this list gave: pass the "next" value of the previous page unchanged', { cursor: params.cursor.slice(0, 100) });
    }
    const { s, o, q, v, k } = decoded;
    if (!keys.includes(s as K) || (o !== 'asc' && o !== 'desc') || (q !== undefined && typeof q !== 'string') || (typeof v !== 'number' && typeof v !== 'string') || typeof k !== 'string') {
      throw invalid('cursor is not one this list gave: pass the "next" value of the previous page unchanged', { cursor: params.cursor.slice(0, 100) });
    }
    if ((params.sort !== undefined && params.sort !== s) || (params.order !== undefined && params.order !== o) || (params.q !== undefined && params.q !== (q ?? ''))) {
      throw invalid('a cursor continues the sort, order and filter it was made with: leave sort, order and q out, or give the same', { sort: s, order: o, q: q ?? '' });
    }
    return { sort: s as K, order: o, q: (q as string | undefined) || undefined, n: params.n, after: { value: v, name: k } };
  }
  const sort = (params.sort ?? keys[0]!) as K;
  if (!keys.includes(sort)) throw invalid(`sort must be one of ${keys.join(', ')}, not "${sort.slice(0, 50)}"`, { sort: sort.slice(0, 50), allowed: keys });
  const order = params.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw invalid(`order must be asc or desc, not "${order.slice(0, 50)}"`, { order: order.slice(0, 50) });
  if (params.last !== undefined && sort !== keys[0]) throw invalid(`last continues a list sorted by ${keys[0]}: use cursor with sort=${sort}`, { last: params.last.slice(0, 100) });
  const after = params.last !== undefined ? { value: params.last, name: params.last } : undefined;
  return { sort, order, q: params.q || undefined, n: params.n, after };
}

/** The cursor that continues `query` after the entry `name` whose key is `value`. */
export function cursorAfter(query: ListQuery<string>, value: number | string, name: string): string {
  return Buffer.from(JSON.stringify({ s: query.sort, o: query.order, q: query.q, v: value, k: name }), 'utf8').toString('base64url');
}

/** Compares two (key, name) pairs in `order` (names always ascending among equal keys). */
export function compareKeys(order: 'asc' | 'desc', a: number | string, an: string, b: number | string, bn: string): number {
  const byKey = typeof a === 'number' && typeof b === 'number' ? a - b : lexical(String(a), String(b));
  if (byKey !== 0) return order === 'asc' ? byKey : -byKey;
  return lexical(an, bn);
}

/**
 * Cuts one page out of `sorted` (already filtered and in `query`'s order).
 * @param keyOf the sort key of an entry, as the cursor carries it
 */
export function page<T>(sorted: readonly T[], query: ListQuery<string>, nameOf: (item: T) => string, keyOf: (item: T) => number | string): ListPage<T> {
  let start = 0;
  if (query.after) {
    const { value, name } = query.after;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const item = sorted[mid]!;
      if (compareKeys(query.order, keyOf(item), nameOf(item), value, name) <= 0) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const end = query.n === undefined ? sorted.length : Math.min(sorted.length, start + query.n);
  const items = sorted.slice(start, end);
  const last = items.at(-1);
  const next = end < sorted.length && last !== undefined && query.n !== undefined && query.n > 0 ? cursorAfter(query, keyOf(last), nameOf(last)) : null;
  return { items, total: sorted.length, next };
}
