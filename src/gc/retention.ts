/**
 * Retention policies (config `gc.retention`): which tags a run deletes before it marks. The first
 * rule whose `name` glob (picomatch) matches a repository applies to it. A tag is deleted when no
 * keep clause protects it (`keeptags`, matched in linear time by re2js, finds a match in it, or it is among the `keeplast` most recently
 * pushed) and the rule's delete clauses select it: older than `olderthan` when set, and not pulled for
 * `unpulledfor` when set (its last recorded pull, else its push: see registry/pull-times.ts), else
 * (with only `keeplast`) every tag beyond the newest. A rule with none of `keeplast`, `olderthan` and
 * `unpulledfor` deletes no tag (it may still set `deleteuntagged`).
 */
import picomatch from 'picomatch';
import { RE2JS } from 're2js';
import type { RetentionRule } from '../config/schema.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import type { TagLink } from '../registry/manifests.js';
import { readPullTime } from '../registry/pull-times.js';
import { type StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/driver-errors.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from '../registry/limit.js';

/** A tag that a rule deletes, with the link it was evaluated on. */
export interface TagDeletion {
  repository: RepositoryName;
  tag: Tag;
  link: TagLink;
  /** when the rule looked at pulls (`unpulledfor`): the tag's last recorded pull it saw (ms; undefined: none) */
  pull?: { at: number | undefined };
}

/** The retention rules, compiled. */
export class RetentionPolicy {
  readonly #rules: { rule: RetentionRule; matches: (name: string) => boolean; keep?: RE2JS }[];

  constructor(rules: readonly RetentionRule[]) {
    this.#rules = rules.map((rule) => ({
      rule,
      matches: picomatch(rule.name),
      keep: rule.keeptags === undefined ? undefined : RE2JS.compile(rule.keeptags),
    }));
  }

  /** The rule that applies to `repository` (the first whose glob matches), or undefined. */
  ruleFor(repository: RepositoryName): RetentionRule | undefined {
    return this.#rules.find((r) => r.matches(repository))?.rule;
  }

  /** True when a rule deletes the untagged manifests of `repository`. */
  deletesUntagged(repository: RepositoryName): boolean {
    return this.ruleFor(repository)?.deleteuntagged === true;
  }

  /** True when the rule of `repository` needs its tags' pull times (it has `unpulledfor`): read them for {@link plan}. */
  needsPullTimes(repository: RepositoryName): boolean {
    return this.ruleFor(repository)?.unpulledfor !== undefined;
  }

  /**
   * The tags of `repository` its rule deletes.
   * @param nowMs the run's start, ms since the epoch
   * @param pulls each tag's last recorded pull (ms), when {@link needsPullTimes}
   */
  plan(repository: RepositoryName, tags: ReadonlyMap<Tag, TagLink>, nowMs: number, pulls?: ReadonlyMap<Tag, number>): TagDeletion[] {
    const entry = this.#rules.find((r) => r.matches(repository));
    const { keeplast, olderthan, unpulledfor } = entry?.rule ?? {};
    if (!entry || (keeplast === undefined && olderthan === undefined && unpulledfor === undefined)) return [];
    const newestFirst = [...tags].sort(([ta, a], [tb, b]) => pushedAt(b) - pushedAt(a) || (ta < tb ? -1 : 1));
    return newestFirst
      .filter(([tag, link], i) => {
        if (entry.keep?.test(tag)) return false;
        if (keeplast !== undefined && i < keeplast) return false;
        if (olderthan !== undefined && nowMs - pushedAt(link) <= olderthan) return false;
        return unpulledfor === undefined || nowMs - Math.max(pushedAt(link), pulls?.get(tag) ?? 0) > unpulledfor;
      })
      .map(([tag, link]) => ({ repository, tag, link, ...(unpulledfor === undefined ? {} : { pull: { at: pulls?.get(tag) } }) }));
  }
}

function pushedAt(link: TagLink): number {
  const t = Date.parse(link.pushedAt);
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Deletes a planned tag if it still holds what the rule evaluated (same digest, same push time, and
 * for `unpulledfor` no pull recorded since): a tag pushed or pulled again since then survives. The
 * tag's pull record goes with it.
 * @returns true when the tag was deleted
 */
export async function deleteTagIfUnchanged(driver: StorageDriver, deletion: TagDeletion): Promise<boolean> {
  const path = layout.tag(deletion.repository, deletion.tag);
  let current: TagLink;
  try {
    current = JSON.parse((await driver.getContent(path)).toString('utf8')) as TagLink;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (current.digest !== deletion.link.digest || current.pushedAt !== deletion.link.pushedAt) return false;
  if (deletion.pull && (await readPullTime(driver, deletion.repository, deletion.tag)) !== deletion.pull.at) return false;
  await driver.delete(path);
  await driver.delete(layout.tagPull(deletion.repository, deletion.tag));
  return true;
}

/** The recorded last pulls of `tags` of `repository` (ms since the epoch; tags without a record are left out). */
export async function readPullTimes(driver: StorageDriver, repository: RepositoryName, tags: readonly Tag[]): Promise<Map<Tag, number>> {
  const found = new Map<Tag, number>();
  await forEachLimit(tags, 16, async (tag) => {
    const at = await readPullTime(driver, repository, tag);
    if (at !== undefined) found.set(tag, at);
  });
  return found;
}
