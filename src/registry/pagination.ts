/**
 * Pagination of lexically sorted lists (Distribution Spec v1.1 "Listing Tags" and Docker's
 * `_catalog`): `n` entries at most, strictly after `last`.
 */

/** One page of a list, and whether more entries follow it. */
export interface Page {
  items: string[];
  more: boolean;
}

/**
 * Cuts one page out of `sorted` (which must be in lexical order), of the entries `keep` accepts.
 * Reads only the entries from the page's start to the first kept entry after it: with `keep` (the
 * catalog's entries a request may see), a page of 1,000 out of 100,000 costs a page, not a filtered
 * copy of the whole list.
 * @param n page size; undefined for all entries
 * @param last the last entry of the previous page; entries up to and including it are skipped
 * @param keep true for an entry the page may hold (every entry when not given)
 */
export function paginate(sorted: readonly string[], n: number | undefined, last: string | undefined, keep?: (entry: string) => boolean): Page {
  let start = 0;
  if (last !== undefined) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= last) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  if (keep === undefined) {
    const end = n === undefined ? sorted.length : Math.min(sorted.length, start + n);
    return { items: sorted.slice(start, end), more: end < sorted.length };
  }
  const items: string[] = [];
  let i = start;
  for (; i < sorted.length && (n === undefined || items.length < n); i++) if (keep(sorted[i]!)) items.push(sorted[i]!);
  while (i < sorted.length && !keep(sorted[i]!)) i++;
  return { items, more: i < sorted.length };
}

/** Lexical (code point) comparison, the order tags and repositories are listed in. */
export function lexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
