/**
 * The repository catalog (Docker Registry HTTP API V2 `GET /v2/_catalog`): every repository that
 * holds a manifest or a blob link, found by walking `/repositories`, and kept in memory.
 *
 * The cache is exact for what this process does and bounded-stale for what other processes do:
 * - the first request walks the storage and waits for the walk; concurrent requests that need a walk
 *   share one (single-flight);
 * - this process's writes of repository content add the repository to the cached list as soon as
 *   they succeeded, and its deletes under `repositories/` drop the list, so the next request waits
 *   for a new walk (a delete may have removed a repository); both arrive through the driver's change
 *   feed (watched-driver.ts);
 * - other processes' changes (replicas on one bucket or folder, `wharf gc`) show after at most
 *   {@link CATALOG_MAX_AGE_MS} (or {@link WALK_SHARE} times the last walk's duration, when that is
 *   longer) plus one walk: a request that finds the list older than that answers it and starts one
 *   walk in the background (stale-while-revalidate). A failed background walk is logged and the list
 *   kept; a later request tries again.
 */
import { pino, type Logger } from 'pino';
import { isRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from './limit.js';
import { lexical } from './pagination.js';
import { feedOf, repositoryChanges, type RepositoryChanges } from './watched-driver.js';

/** How many folder listings one catalog walk keeps in flight. */
const LIST_CONCURRENCY = 16;

/**
 * ms: how old the cached list may get before a request refreshes it in the background. 5 s bounds how
 * long a repository pushed through another process stays missing (or a repository deleted there stays
 * listed), while a busy catalog costs at most one walk per 5 s: on the filesystem a walk of 1,000
 * repositories takes tens of ms; on S3 it is one ListObjectsV2 per repository folder.
 */
export const CATALOG_MAX_AGE_MS = 5000;

/**
 * The list's max age is at least this many times the last walk's duration: under steady catalog
 * requests, background walks take at most about a tenth of the time. Without it a walk longer than
 * {@link CATALOG_MAX_AGE_MS} (about 10 s of listings at 100,000 repositories on the filesystem) left
 * the list expired the moment it was made, and the process walked without pause for as long as
 * requests came (docs/performance.md, "The catalog at 100,000 repositories").
 */
export const WALK_SHARE = 10;

/**
 * Every repository name under `/repositories`, in lexical order, read from the storage now. The tree
 * is walked one level at a time with at most {@link LIST_CONCURRENCY} listings in flight, so a large
 * catalog does not flood the storage (on S3, one ListObjectsV2 per repository folder).
 */
export async function walkRepositories(driver: StorageDriver): Promise<RepositoryName[]> {
  const found: RepositoryName[] = [];
  let level: (RepositoryName | undefined)[] = [undefined];
  while (level.length > 0) {
    const next: RepositoryName[] = [];
    await forEachLimit(level, LIST_CONCURRENCY, async (name) => {
      const children = await driver.list(name === undefined ? layout.REPOSITORIES : layout.repository(name));
      if (name !== undefined && holdsContent(children)) found.push(name);
      // a folder whose name is not a valid repository name (left by hand, or a layout folder) is skipped
      next.push(...children.map((c) => (name === undefined ? c : `${name}/${c}`)).filter(isRepositoryName));
    });
    level = next;
  }
  return found.sort(lexical);
}

/** Options of {@link Catalog}. */
export interface CatalogOptions {
  /** ms, see {@link CATALOG_MAX_AGE_MS} (its default) */
  maxAgeMs?: number;
  /** the clock, ms since the epoch (a clock set back counts as expired) */
  now?: () => number;
  /** where a failed background walk is reported (default: a pino logger on stdout, made at the first failure) */
  logger?: Logger;
}

/**
 * A walk, queued or in flight, and the repositories written while it runs (it may have listed their
 * folders before the write).
 */
interface Walk {
  promise: Promise<readonly RepositoryName[]>;
  written: Set<RepositoryName>;
  /** false while it waits for the previous walk to end: it has listed nothing yet */
  started: boolean;
}

/** The catalog of one storage driver instance, shared by every part of the process that uses it. */
const catalogs = new WeakMap<StorageDriver, Catalog>();

/**
 * The catalog over `driver` that every Registry of this process built on the same driver instance
 * shares (the first caller's options apply); it is the driver instance's, since that is what one
 * process's writes go through, and it hears them through the instance's change feed (watched-driver.ts).
 */
export function catalogOf(driver: StorageDriver, options: CatalogOptions = {}): Catalog {
  let catalog = catalogs.get(driver);
  if (catalog === undefined) {
    catalog = new Catalog(driver, options);
    catalogs.set(driver, catalog);
    feedOf(driver).subscribe(repositoryChanges(catalog));
  }
  return catalog;
}

/** Lists repositories: a cached list (see the module's comment), and an exact existence check. */
export class Catalog implements RepositoryChanges {
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #logger: Logger | undefined;
  /** sorted; replaced, never changed in place, so a caller's copy stays as it was; undefined until a walk, and after a delete */
  #list: readonly RepositoryName[] | undefined;
  /** when the walk that produced #list started, ms */
  #walkedAt = 0;
  /** how long the last walk that produced #list took, ms */
  #walkMs = 0;
  /** the walk whose result will become #list; undefined when none is queued or in flight, or a delete made it unusable */
  #walk: Walk | undefined;
  /** the storage walk in flight, usable or not: walks run one at a time, a new one queued behind it */
  #running: Promise<unknown> | undefined;

  constructor(
    private readonly driver: StorageDriver,
    options: CatalogOptions = {},
  ) {
    this.#maxAgeMs = options.maxAgeMs ?? CATALOG_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  /**
   * Every repository name, in lexical order. Do not change the array: it is the cache's.
   * @throws what the storage driver throws, when this request had to wait for a walk and it failed
   */
  async repositories(): Promise<readonly RepositoryName[]> {
    const list = this.#list;
    if (list === undefined) return (this.#walk ?? this.#startWalk()).promise;
    if (this.#walk === undefined && this.#expired()) {
      this.#startWalk().promise.catch((err: unknown) => {
        (this.#logger ??= pino()).warn({ err, ageMs: this.#now() - this.#walkedAt }, 'catalog walk failed; serving the cached list, a later request retries');
      });
    }
    return list;
  }

  /** True when the cached list names repository `name` (exact for this process's writes, bounded-stale for others': see above). */
  async listed(name: RepositoryName): Promise<boolean> {
    const list = await this.repositories();
    return withName(list, name) === list;
  }

  /** True when repository `name` holds a manifest or a blob link, read from the storage now (never from the cache). */
  async exists(name: RepositoryName): Promise<boolean> {
    return holdsContent(await this.driver.list(layout.repository(name)));
  }

  /** Repository `name` got content through this process: adds it to the cached list (and to the result of a walk in flight). */
  contentWritten(name: RepositoryName): void {
    this.#walk?.written.add(name);
    const list = this.#list;
    if (list !== undefined) this.#list = withName(list, name);
  }

  /**
   * This process deleted or moved something under `repositories/`: the next request waits for a walk
   * that starts after this (a queued walk that has listed nothing yet still qualifies, so a stream of
   * deletes queues one walk, not one per delete).
   */
  contentRemoved(): void {
    this.#list = undefined;
    if (this.#walk?.started) this.#walk = undefined;
  }

  #expired(): boolean {
    const age = this.#now() - this.#walkedAt;
    return age >= Math.max(this.#maxAgeMs, WALK_SHARE * this.#walkMs) || age < 0;
  }

  /** Queues a walk behind the one in flight (a walk a delete made unusable still runs to its end), and makes it {@link #walk}. */
  #startWalk(): Walk {
    const previous = this.#running;
    const walk: Walk = { promise: Promise.resolve([]), written: new Set(), started: false };
    const current = (): boolean => this.#walk === walk;
    walk.promise = (async () => {
      try {
        if (previous) await previous.catch(() => undefined);
        walk.started = true;
        const startedAt = this.#now();
        let found: readonly RepositoryName[] = await walkRepositories(this.driver);
        for (const name of walk.written) found = withName(found, name);
        if (current()) {
          this.#list = found;
          this.#walkedAt = startedAt;
          this.#walkMs = Math.max(0, this.#now() - startedAt);
        }
        return found;
      } finally {
        if (current()) this.#walk = undefined;
      }
    })();
    this.#running = walk.promise;
    const settled = (): void => {
      if (this.#running === walk.promise) this.#running = undefined;
    };
    walk.promise.then(settled, settled);
    this.#walk = walk;
    return walk;
  }
}

/** `sorted` with `name` in its lexical place: `sorted` itself when it is already there, else a new array. */
function withName(sorted: readonly RepositoryName[], name: RepositoryName): readonly RepositoryName[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < name) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo] === name ? sorted : sorted.toSpliced(lo, 0, name);
}

/** True when a repository folder's children include its manifests or blob links (not only nested repositories). */
function holdsContent(children: string[]): boolean {
  return children.includes('_manifests') || children.includes('_layers');
}
