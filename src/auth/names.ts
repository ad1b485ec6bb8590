/**
 * The grammar of account names and bcrypt hashes, shared by the configuration schema and the user
 * store (this module imports nothing, so the schema can use it without an import cycle).
 */

/**
 * Account names: a letter or digit, then letters, digits, `.`, `_`, `-`, `@`; at most 128
 * characters. No `/` or glob characters, so `${account}` in a rule's repository pattern can never
 * widen the match.
 */
export const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** The account words that rules use for classes of requests, never valid user names. */
export const RESERVED_ACCOUNTS = ['anonymous', 'authenticated'] as const;

/** A bcrypt hash in modular crypt form (`$2a$`, `$2b$`, `$2x$`, `$2y$`; Apache's `htpasswd -B` writes `$2y$`). */
export const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** True when `name` may be an account name (see {@link ACCOUNT_NAME}; not a reserved word). */
export function isAccountName(name: string): boolean {
  return ACCOUNT_NAME.test(name) && !(RESERVED_ACCOUNTS as readonly string[]).includes(name);
}
