/**
 * Access rules (ACL): an ordered list; for an account and a repository the FIRST rule whose
 * account matcher and repository pattern both match decides the actions (none when no rule
 * matches). Account matchers: an account name, `anonymous` (no credentials), `authenticated` (any
 * known account), `*` (everyone), or `group: NAME`. Repository patterns are globs where `*` matches
 * any run of characters, `/` included (as in cesanta/docker_auth: `team/*` covers `team/app` and
 * `team/app/sub`), `?` one character other than `/`, and `${account}` the requesting account's name,
 * inserted literally (account names hold no `/` or glob characters, and are escaped regardless).
 */
import { isRepositoryName } from '../oci/reference.js';
import { mergeAccess, REPOSITORY_ACTIONS, type ResourceActions } from './scope.js';

/** One access rule as configured (`auth.acl[]`). */
export interface AclRule {
  account?: string;
  group?: string;
  /** repository glob, may hold `${account}` */
  name: string;
  /** `pull`, `push`, `delete`, `*`; an empty list denies */
  actions: string[];
  /** the account matcher of this rule grants the admin API */
  admin?: boolean;
}

/** The placeholder for the requesting account in a repository pattern. */
export const ACCOUNT_PLACEHOLDER = '${account}';

/** Characters a repository pattern may hold besides the placeholder. */
export const PATTERN = /^(?:[a-z0-9._/*?-]|\$\{account\})+$/;

function globSource(glob: string): string {
  let out = '';
  for (const c of glob) out += c === '*' ? '.*' : c === '?' ? '[^/]' : c.replace(/[.\\^$+()[\]{}|-]/g, (x) => `\\${x}`);
  return out;
}

const escapeLiteral = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, (x) => `\\${x}`);

/** A compiled rule. */
interface Compiled {
  rule: AclRule;
  /** the pattern's glob pieces between placeholders, as regular expression sources */
  pieces: string[];
}

/** The ACL, with the groups it refers to. */
export class AccessPolicy {
  private readonly rules: Compiled[];
  private readonly groups: Map<string, Set<string>>;

  constructor(rules: readonly AclRule[], groups: Record<string, string[]>) {
    this.rules = rules.map((rule) => ({ rule, pieces: rule.name.split(ACCOUNT_PLACEHOLDER).map(globSource) }));
    this.groups = new Map(Object.entries(groups).map(([g, members]) => [g, new Set(members)]));
  }

  /** The groups `account` belongs to. */
  groupsOf(account: string | undefined): string[] {
    if (account === undefined) return [];
    return [...this.groups].filter(([, members]) => members.has(account)).map(([g]) => g);
  }

  /** True when the rule's account matcher covers `account` (undefined: anonymous). */
  private covers(rule: AclRule, account: string | undefined): boolean {
    if (rule.group !== undefined) return account !== undefined && (this.groups.get(rule.group)?.has(account) ?? false);
    switch (rule.account) {
      case '*':
        return true;
      case 'anonymous':
        return account === undefined;
      case 'authenticated':
        return account !== undefined;
      default:
        return account !== undefined && rule.account === account;
    }
  }

  private nameMatches(c: Compiled, account: string | undefined, repository: string): boolean {
    if (c.pieces.length > 1 && account === undefined) return false;
    const source = c.pieces.join(account === undefined ? '' : escapeLiteral(account));
    return new RegExp(`^${source}$`).test(repository);
  }

  /** The actions `account` has on `repository` by the first matching rule (`*` expanded to every action). */
  actions(account: string | undefined, repository: string): Set<string> {
    for (const c of this.rules) {
      if (!this.covers(c.rule, account) || !this.nameMatches(c, account, repository)) continue;
      return new Set(c.rule.actions.includes('*') ? REPOSITORY_ACTIONS : c.rule.actions);
    }
    return new Set();
  }

  /** True when a rule's repository pattern holds `${account}`. */
  usesAccountPlaceholder(): boolean {
    return this.rules.some((c) => c.pieces.length > 1);
  }

  /**
   * Of `accounts`, those that `${account}` in a pattern can never match: names that are no valid
   * repository path component (upper case letters, `@`, `.`/`-` at the end, ...), since repository
   * names are lowercase. Empty when no rule uses `${account}`.
   */
  withoutOwnNamespace(accounts: readonly string[]): string[] {
    return this.usesAccountPlaceholder() ? accounts.filter((a) => !isRepositoryName(a)) : [];
  }

  /** True when a rule with `admin: true` covers `account`. */
  isAdmin(account: string | undefined): boolean {
    return this.rules.some((c) => c.rule.admin === true && this.covers(c.rule, account));
  }

  /**
   * What `account` gets of `requested`: per record, the requested actions the rules allow
   * (`*` only where a rule grants `*`). `registry:catalog:*` is granted to everyone (the catalog
   * lists only what the account can pull); `registry:admin:*` to admins. Anything else, and
   * records with invalid repository names, get nothing and are left out.
   */
  grant(account: string | undefined, requested: readonly ResourceActions[]): ResourceActions[] {
    const granted = requested.flatMap((r): ResourceActions[] => {
      let allowed: Set<string>;
      if (r.type === 'repository' && isRepositoryName(r.name)) allowed = this.actions(account, r.name);
      else if (r.type === 'registry' && r.name === 'catalog') allowed = new Set(['*']);
      else if (r.type === 'registry' && r.name === 'admin' && this.isAdmin(account)) allowed = new Set(['*']);
      else allowed = new Set();
      const actions = r.actions.filter((a) => allowed.has(a));
      return actions.length === 0 ? [] : [{ type: r.type, name: r.name, actions }];
    });
    return mergeAccess(granted);
  }
}
