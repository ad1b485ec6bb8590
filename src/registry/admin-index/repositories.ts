/**
 * `GET /admin/v1/repositories` from the admin index: every repository's summary, filtered by name,
 * sorted by any of its figures and cut into pages (listing.ts). A sorted view is kept until the
 * index changes, so paging through it costs a binary search and a slice.
 */
import type { RepositoryName } from '../../oci/reference.js';
import { compareKeys, page, type ListPage, type ListQuery } from './listing.js';
import type { RepositoryBytes, RepositoryEntry } from './repository-entry.js';
import type { IndexState } from './state.js';

/** The keys a repository list sorts by; the first is the default. */
export const REPOSITORY_SORTS = ['name', 'tags', 'manifests', 'unique', 'shared', 'total', 'lastPush'] as const;

/** A key of {@link REPOSITORY_SORTS}. */
export type RepositorySort = (typeof REPOSITORY_SORTS)[number];

/** What the admin API reports of one repository. */
export interface RepositorySummary {
  name: RepositoryName;
  tags: number;
  /** manifest revisions (tagged or not, image indexes' children and referrers included) */
  manifests: number;
  bytes: RepositoryBytes;
  /** the newest `pushedAt` of the repository's tags (ISO 8601), null when it has no tag */
  lastPush: string | null;
}

/** The summary of `entry`. */
export function summarize(state: IndexState, entry: RepositoryEntry): RepositorySummary {
  return {
    name: entry.name,
    tags: entry.tags,
    manifests: entry.manifests,
    bytes: { ...state.bytes(entry) },
    lastPush: entry.lastPush > 0 ? new Date(entry.lastPush).toISOString() : null,
  };
}

/** The sort key of `entry`. */
function keyOf(state: IndexState, sort: RepositorySort, entry: RepositoryEntry): number | string {
  switch (sort) {
    case 'name':
      return entry.name;
    case 'tags':
      return entry.tags;
    case 'manifests':
      return entry.manifests;
    case 'lastPush':
      return entry.lastPush;
    default:
      return state.bytes(entry)[sort];
  }
}

const VIEWS_KEPT = 4;

/** Sorted views of one index, each valid while the index does not change. */
export class RepositoryViews {
  readonly #views = new Map<string, readonly RepositoryEntry[]>();
  #state: IndexState | undefined;

  /** One page of repository summaries. */
  list(state: IndexState, query: ListQuery<RepositorySort>): ListPage<RepositorySummary> {
    const sorted = this.#view(state, query);
    const cut = page(sorted, query, (e) => e.name, (e) => keyOf(state, query.sort, e));
    return { ...cut, items: cut.items.map((e) => summarize(state, e)) };
  }

  #view(state: IndexState, query: ListQuery<RepositorySort>): readonly RepositoryEntry[] {
    if (state !== this.#state) {
      this.#views.clear();
      this.#state = state;
    }
    const key = `${state.generation}.${state.blobGeneration}\n${query.sort}\n${query.order}\n${query.q ?? ''}`;
    const cached = this.#views.get(key);
    if (cached) return cached;
    const names = query.q === undefined ? state.names() : state.names().filter((n) => n.includes(query.q!));
    const entries = names.map((n) => state.repository(n)!);
    if (query.sort !== 'name' || query.order === 'desc') {
      const keys = new Map(entries.map((e) => [e, keyOf(state, query.sort, e)]));
      entries.sort((a, b) => compareKeys(query.order, keys.get(a)!, a.name, keys.get(b)!, b.name));
    }
    for (const old of this.#views.keys()) if (!old.startsWith(`${state.generation}.${state.blobGeneration}\n`)) this.#views.delete(old);
    if (this.#views.size >= VIEWS_KEPT) this.#views.delete(this.#views.keys().next().value!);
    this.#views.set(key, entries);
    return entries;
  }
}
