/**
 * Retention policies (config `gc.retention`): which tags a run deletes before it marks. The first
 * rule whose `name` glob (picomatch) matches a repository applies to it. A tag is deleted when no
 * keep clause protects it (`keeptags`, matched in linear time by re2js, finds a match in it, or it is among the `keeplast` most recently
 * pushed) and the rule's delete clause selects it: older than `olderthan` when set, else (with only
 * `keeplast`) every tag beyond the newest. A rule with neither `keeplast` nor `olderthan` deletes no
 * tag (it may still set `deleteuntagged`).
 */
import picomatch from 'picomatch';
import { RE2JS } from 're2js';
import type { RetentionRule } from '../config/schema.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import type { TagLink } from '../registry/manifests.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';

/** A tag that a rule deletes, with the link it was evaluated on. */
export interface TagDeletion {
  repository: RepositoryName;
  tag: Tag;
  link: TagLink;
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

  /**
   * The tags of `repository` its rule deletes.
   * @param nowMs the run's start, ms since the epoch
   */
  plan(repository: RepositoryName, tags: ReadonlyMap<Tag, TagLink>, nowMs: number): TagDeletion[] {
    const entry = this.#rules.find((r) => r.matches(repository));
    if (!entry || (entry.rule.keeplast === undefined && entry.rule.olderthan === undefined)) return [];
    const { keeplast, olderthan } = entry.rule;
    const newestFirst = [...tags].sort(([ta, a], [tb, b]) => pushedAt(b) - pushedAt(a) || (ta < tb ? -1 : 1));
    return newestFirst
      .filter(([tag, link], i) => {
        if (entry.keep?.test(tag)) return false;
        if (keeplast !== undefined && i < keeplast) return false;
        return olderthan === undefined || nowMs - pushedAt(link) > olderthan;
      })
      .map(([tag, link]) => ({ repository, tag, link }));
  }
}

function pushedAt(link: TagLink): number {
  const t = Date.parse(link.pushedAt);
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Deletes a planned tag if it still holds what the rule evaluated (same digest, same push time):
 * a tag pushed again since then survives.
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
  await driver.delete(path);
  return true;
}
