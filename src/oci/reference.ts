/**
 * The grammars of repository names and tags (OCI Distribution Spec v1.1, "Pulling manifests":
 * `<name>` and `<reference>`), checked once per request before anything touches storage.
 */
import { RegistryError } from './errors.js';

/** A validated repository name, e.g. `team/app`. */
export type RepositoryName = string & { readonly __repository: unique symbol };
/** A validated tag, e.g. `1.0`. */
export type Tag = string & { readonly __tag: unique symbol };

/** Maximum length of a repository name in characters (Distribution's limit). */
export const MAX_NAME_LENGTH = 255;

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/**
 * Validates a repository name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
 * at most {@link MAX_NAME_LENGTH} characters.
 * @throws RegistryError NAME_INVALID
 */
export function parseRepositoryName(value: string): RepositoryName {
  if (value.length > MAX_NAME_LENGTH) {
    throw new RegistryError('NAME_INVALID', {
      message: `repository name is ${value.length} characters long; the limit is ${MAX_NAME_LENGTH}`,
      detail: { name: value.slice(0, 64) + '...' },
    });
  }
  if (!NAME.test(value)) {
    throw new RegistryError('NAME_INVALID', {
      message: `invalid repository name "${value}": use lowercase letters, digits and separators (. _ __ -), components separated by /`,
      detail: { name: value },
    });
  }
  return value as RepositoryName;
}

/** True when `value` is a valid repository name (see {@link parseRepositoryName}). */
export function isRepositoryName(value: string): value is RepositoryName {
  return value.length <= MAX_NAME_LENGTH && NAME.test(value);
}

/** True when `value` is a valid tag (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
export function isTag(value: string): value is Tag {
  return TAG.test(value);
}

/**
 * Validates a tag.
 * @throws RegistryError TAG_INVALID
 */
export function parseTag(value: string): Tag {
  if (!isTag(value)) {
    throw new RegistryError('TAG_INVALID', {
      message: `invalid tag "${value.slice(0, 200)}": up to 128 characters of [a-zA-Z0-9_.-], not starting with . or -`,
      detail: { tag: value.slice(0, 200) },
    });
  }
  return value as Tag;
}
