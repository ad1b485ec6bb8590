/**
 * When each tag was last pulled, for the retention clause `unpulledfor` (a pull-through cache evicts
 * the base images nobody uses any more; Harbor keeps a "pull time" per tag for the same purpose).
 * Recording must cost next to nothing on the pull path, so a process writes a tag's record at most
 * once per {@link PULL_RECORD_INTERVAL_MS} and never reads it: a record is at most that much older
 * than the last pull, which a retention measured in days does not notice. The record is an object
 * of its own beside the tag (never the tag object, which a concurrent push may be rewriting).
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { contentIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';

/** How often one process re-writes a tag's pull record at most: one hour, in ms. */
export const PULL_RECORD_INTERVAL_MS = 3_600_000;

/** Records pulls of tags, at most one write per tag per {@link PULL_RECORD_INTERVAL_MS} per process. */
export class PullTimes {
  /** when this process last wrote each `name:tag` record, ms since the epoch */
  readonly #written = new LRUCache<string, number>({ max: 100_000 });

  constructor(
    private readonly driver: StorageDriver,
    private readonly now: () => number = Date.now,
    private readonly logger?: Logger,
  ) {}

  /**
   * Notes that tag `tag` of repository `name` was pulled now. Writes the record when this process
   * has not written it within the interval; a failed write is logged, never thrown (a pull must
   * not fail because its bookkeeping did).
   */
  async record(name: RepositoryName, tag: Tag): Promise<void> {
    const key = `${name}:${tag}`;
    const now = this.now();
    const last = this.#written.get(key);
    if (last !== undefined && now - last < PULL_RECORD_INTERVAL_MS) return;
    this.#written.set(key, now);
    try {
      await this.driver.putContent(layout.tagPull(name, tag), new Date(now).toISOString());
    } catch (err) {
      this.#written.delete(key);
      this.logger?.warn({ err, repository: name, tag }, 'cannot record the pull time of a tag');
    }
  }
}

/**
 * The recorded last pull of tag `tag` of repository `name`, ms since the epoch; undefined when none
 * was recorded (or the record is unreadable).
 * @throws what the driver throws, except a missing object
 */
export async function readPullTime(driver: StorageDriver, name: RepositoryName, tag: Tag): Promise<number | undefined> {
  const content = await contentIfExists(driver, layout.tagPull(name, tag));
  const t = content === undefined ? NaN : Date.parse(content.toString('utf8'));
  return Number.isNaN(t) ? undefined : t;
}
