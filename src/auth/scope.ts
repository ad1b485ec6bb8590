/**
 * Access records and scopes of the Docker token authentication protocol
 * (https://distribution.github.io/distribution/spec/auth/scope/): a scope string
 * `repository:team/app:pull,push` names a resource type, a resource name and actions; a token's
 * `access` claim holds the same records as JSON `[{type, name, actions}]`.
 */

/** The actions on a repository: `*` means every action, present and future. */
export const REPOSITORY_ACTIONS = ['pull', 'push', 'delete', '*'] as const;

/** One of {@link REPOSITORY_ACTIONS}. */
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number];

/** An access record: actions on one resource (`type` `repository` or `registry`). */
export interface ResourceActions {
  type: string;
  name: string;
  actions: string[];
}

/** The resource `registry:catalog:*` that `GET /v2/_catalog` needs (as Distribution names it). */
export const CATALOG: ResourceActions = { type: 'registry', name: 'catalog', actions: ['*'] };

/** The resource `registry:admin:*` that the admin API under `/admin` needs. */
export const ADMIN: ResourceActions = { type: 'registry', name: 'admin', actions: ['*'] };

/** The access record for `actions` on repository `name`. */
export function repositoryAccess(name: string, ...actions: RepositoryAction[]): ResourceActions {
  return { type: 'repository', name, actions };
}

/**
 * Parses one scope `type:name:actions`. The name may itself hold `:` (a registry host with a
 * port), so the type ends at the first `:` and the actions start after the last one.
 * @returns the record, or undefined when the scope is malformed (a token server ignores it)
 */
export function parseScope(scope: string): ResourceActions | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = [...new Set(scope.slice(last + 1).split(',').filter((a) => a !== ''))];
  if (name === '' || actions.length === 0) return undefined;
  return { type, name, actions };
}

/**
 * Parses the scopes of a token request: each `scope` parameter may itself hold several scopes
 * separated by spaces (OAuth2's form, which containerd uses). Records for the same resource are merged.
 */
export function parseScopes(params: readonly string[]): ResourceActions[] {
  return mergeAccess(params.flatMap((p) => p.split(' ')).filter((s) => s !== '').flatMap((s) => parseScope(s) ?? []));
}

/** Formats records as the space-separated scope list of a challenge (`repository:a:pull,push repository:b:pull`). */
export function formatScopes(records: readonly ResourceActions[]): string {
  return records.map((r) => `${r.type}:${r.name}:${r.actions.join(',')}`).join(' ');
}

/** At most this many scopes are written in a log line. */
export const LOGGED_SCOPES = 20;
/** Each scope written in a log line is cut to this many characters. */
export const LOGGED_SCOPE_CHARS = 256;

/**
 * Records as a log line shows them, bounded whatever a client sends: the first
 * {@link LOGGED_SCOPES} formatted as in {@link formatScopes}, each cut to
 * {@link LOGGED_SCOPE_CHARS} characters (marked `...`), then `(+N more)` for the rest.
 */
export function scopesForLog(records: readonly ResourceActions[]): string {
  const shown = records.slice(0, LOGGED_SCOPES).map((r) => {
    const scope = formatScopes([r]);
    return scope.length > LOGGED_SCOPE_CHARS ? `${scope.slice(0, LOGGED_SCOPE_CHARS)}...` : scope;
  });
  if (records.length > LOGGED_SCOPES) shown.push(`(+${records.length - LOGGED_SCOPES} more)`);
  return shown.join(' ');
}

/** Merges records for the same resource, keeping the first-seen order of resources and actions. */
export function mergeAccess(records: readonly ResourceActions[]): ResourceActions[] {
  const merged = new Map<string, ResourceActions>();
  for (const r of records) {
    const key = `${r.type}\u0000${r.name}`;
    const seen = merged.get(key);
    if (seen) seen.actions = [...new Set([...seen.actions, ...r.actions])];
    else merged.set(key, { type: r.type, name: r.name, actions: [...new Set(r.actions)] });
  }
  return [...merged.values()];
}

/** True when `granted` holds `action` on the resource (`*` in a record covers every action). */
export function holds(granted: readonly ResourceActions[], type: string, name: string, action: string): boolean {
  return granted.some((g) => g.type === type && g.name === name && (g.actions.includes(action) || g.actions.includes('*')));
}

/** The records of `wanted` (with only the actions) that `granted` does not hold; empty when all are held. */
export function missingAccess(granted: readonly ResourceActions[], wanted: readonly ResourceActions[]): ResourceActions[] {
  return wanted.flatMap((w) => {
    const actions = w.actions.filter((a) => !holds(granted, w.type, w.name, a));
    return actions.length === 0 ? [] : [{ type: w.type, name: w.name, actions }];
  });
}
