/**
 * `WWW-Authenticate` challenges (RFC 9110 section 11.6.1; the Docker token spec's Bearer challenge
 * `Bearer realm="...",service="...",scope="repository:a/b:pull,push"`).
 */

/** A parsed challenge: the scheme, lowercased, and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const PARAM = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/y;

/**
 * Parses the challenges of a `WWW-Authenticate` header value (several may be given, comma
 * separated or in several headers). Unparseable parts are skipped.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    let current: Challenge | undefined;
    while (i < value.length) {
      while (i < value.length && /[\s,]/.test(value[i]!)) i++;
      PARAM.lastIndex = i;
      const param = PARAM.exec(value);
      if (param && current) {
        current.params[param[1]!.toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3]!;
        i = PARAM.lastIndex;
        continue;
      }
      const scheme = /^[A-Za-z0-9_-]+/.exec(value.slice(i));
      if (!scheme) break;
      current = { scheme: scheme[0].toLowerCase(), params: {} };
      out.push(current);
      i += scheme[0].length;
    }
  }
  return out;
}

/** The scopes a Bearer challenge's `scope` parameter names (space separated). */
export function challengeScopes(c: Challenge): string[] {
  return (c.params.scope ?? '').split(' ').filter(Boolean);
}

/** `repository:<name>:<actions>`, the scope of a repository action (Docker token spec "Scope"). */
export function repositoryScope(name: string, actions: readonly string[]): string {
  return `repository:${name}:${actions.join(',')}`;
}

/**
 * Merges scopes: the actions of one resource are united (`repository:a:pull` and `repository:a:push`
 * become `repository:a:pull,push`), order of first appearance kept.
 */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    if (last < 0) continue;
    const resource = scope.slice(0, last);
    const actions = byResource.get(resource) ?? new Set<string>();
    for (const a of scope.slice(last + 1).split(',')) if (a) actions.add(a);
    byResource.set(resource, actions);
  }
  return [...byResource].map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`);
}
