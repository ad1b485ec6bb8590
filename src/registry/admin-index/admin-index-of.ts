/**
 * The admin index of a driver instance, one per process: every part of the server (the admin API,
 * the registry's writes, `wharf gc`) that asks for the index of the same storage gets the same
 * {@link AdminIndex}, which hears that storage's writes through its change feed.
 */
import type { StorageDriver } from '../../storage/driver.js';
import { feedOf, innermost, type ChangeFeed } from '../watched-driver.js';
import { AdminIndex, type AdminIndexOptions } from './admin-index.js';

const indexes = new WeakMap<ChangeFeed, AdminIndex>();

/**
 * The admin index over driver instance `driver` (the one under its decorators), shared by every part
 * of the process that uses it (the first caller's options apply); it hears the instance's writes through its change feed, and its
 * journal writer records them for other processes from then on. Not started: see {@link AdminIndex.start}.
 */
export function adminIndexOf(driver: StorageDriver, options: AdminIndexOptions = {}): AdminIndex {
  const feed = feedOf(driver);
  let index = indexes.get(feed);
  if (index === undefined) {
    // its own reads and writes are background work, not requests: they bypass the request metrics' decorator
    index = new AdminIndex(innermost(driver), options);
    indexes.set(feed, index);
    feed.subscribe(index);
    feed.subscribe(index.journal);
  }
  return index;
}
