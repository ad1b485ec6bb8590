/**
 * Users: accounts and bcrypt password hashes from an htpasswd file (as Apache's `htpasswd -B`
 * writes it: `name:$2y$...`, one a line), reloaded when the file changes, plus accounts written in
 * the configuration. Only bcrypt is accepted: MD5 (`$apr1$`), SHA-1 (`{SHA}`), crypt and plain
 * text are refused at start-up with the line and the fix.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { BCRYPT_HASH, isAccountName } from './names.js';

/** The salt and checksum of the stand-in hash for unknown accounts (a bcrypt hash of a random string; it matches no password anyone sends). */
const UNKNOWN_ACCOUNT_SALT_AND_CHECKSUM = 'MnDtJiZqzFSVZEOptyPn0u6bNmT0lfYfBoVAANN4R6ALLKNzkp3t.';

/** The bcrypt cost of the stand-in hash when no user is loaded. */
const DEFAULT_COST = 10;

/**
 * The hash compared against for unknown accounts: bcrypt at the cost most of `hashes` use (the
 * highest of equally common ones; {@link DEFAULT_COST} without hashes), so a login for an unknown
 * account costs as much as a wrong password for a known one and the answer time does not tell
 * which accounts exist. `htpasswd -B` writes cost 5 by default, `-C N` cost N.
 */
export function standInHash(hashes: Iterable<string>): string {
  const counts = new Map<number, number>();
  for (const hash of hashes) {
    const cost = bcrypt.getRounds(hash);
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let cost = DEFAULT_COST;
  let most = 0;
  for (const [c, n] of counts) {
    if (n > most || (n === most && c > cost)) [cost, most] = [c, n];
  }
  return `$2b$${String(cost).padStart(2, '0')}$${UNKNOWN_ACCOUNT_SALT_AND_CHECKSUM}`;
}

/** Names the kind of a password hash that is not bcrypt, for error messages. */
function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'an Apache MD5 ($apr1$) hash';
  if (hash.startsWith('{SHA}')) return 'a SHA-1 ({SHA}) hash';
  if (/^\$[156]\$/.test(hash)) return 'a crypt(3) MD5/SHA hash';
  if (hash.startsWith('$2')) return 'a malformed bcrypt hash';
  return 'not a bcrypt hash (crypt or plain text)';
}

/**
 * Parses htpasswd `text` into name -> bcrypt hash.
 * @throws ConfigError naming the file, the line, the user and the fix (`htpasswd -B`)
 */
export function parseHtpasswd(text: string, file: string): Map<string, string> {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `auth.htpasswd.path = ${JSON.stringify(file)}, line ${i + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ConfigError(`${where}: expected "user:hash"; create entries with \`htpasswd -B ${file} USER\``);
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!isAccountName(name)) {
      throw new ConfigError(`${where} (user "${name.slice(0, 64)}"): invalid account name; use letters, digits, . _ - @ (no / or glob characters), not "anonymous" or "authenticated"`);
    }
    if (!BCRYPT_HASH.test(hash)) {
      throw new ConfigError(`${where} (user "${name}"): ${hashKind(hash)}; only bcrypt is accepted: recreate it with \`htpasswd -B ${file} ${name}\``);
    }
    if (users.has(name)) throw new ConfigError(`${where} (user "${name}"): the user appears twice; keep one line`);
    users.set(name, hash);
  });
  return users;
}

/** A user written in the configuration. */
export interface ConfigUser {
  name: string;
  password: string;
}

/** The result of checking a password. */
export type PasswordCheck = { ok: true; credential: string } | { ok: false; reason: 'unknown account' | 'wrong password' };

/**
 * The users Wharf knows. The htpasswd file is re-read when its size, mtime or inode change (checked
 * at each login); a changed file that no longer parses keeps the previous users and logs the error.
 */
export class UserStore {
  private fileUsers = new Map<string, string>();
  private fileStamp = '';
  /** successful checks by HMAC of name and password under a per-process key, so bcrypt runs once per password */
  private readonly verified = new Map<string, string>();
  private readonly cacheKey = randomBytes(32);
  /** see {@link standInHash}; recomputed when the htpasswd file is reloaded */
  private unknownAccountHash: string;

  /**
   * @param onLoad called with every account name after the users are read at start-up and after
   *   each reload of the htpasswd file
   */
  constructor(
    private readonly htpasswd: string | undefined,
    private readonly configUsers: ConfigUser[],
    private readonly logger: Logger,
    private readonly onLoad: (names: string[]) => void = () => undefined,
  ) {
    this.unknownAccountHash = standInHash(configUsers.map((u) => u.password));
    if (htpasswd !== undefined) this.reload(true);
    else onLoad(configUsers.map((u) => u.name));
  }

  /** True when `name` is a known account. */
  has(name: string): boolean {
    this.reload(false);
    return this.hashOf(name) !== undefined;
  }

  /**
   * The fingerprint of `name`'s current password hash (binds refresh tokens to the password), or
   * undefined when the account does not exist.
   */
  credential(name: string): string | undefined {
    this.reload(false);
    const hash = this.hashOf(name);
    return hash === undefined ? undefined : createHash('sha256').update(hash).digest('base64url').slice(0, 22);
  }

  /** Checks `password` for account `name` with bcrypt (async: the event loop keeps serving). */
  async check(name: string, password: string): Promise<PasswordCheck> {
    this.reload(false);
    const hash = this.hashOf(name);
    if (hash === undefined) {
      // as slow as a wrong password, so the answer time does not tell which accounts exist
      await bcrypt.compare(password, this.unknownAccountHash);
      return { ok: false, reason: 'unknown account' };
    }
    const credential = this.credential(name)!;
    const memo = createHmac('sha256', this.cacheKey).update(name).update('\u0000').update(password).digest('base64');
    if (this.verified.get(memo) === hash) return { ok: true, credential };
    if (!(await bcrypt.compare(password, hash))) return { ok: false, reason: 'wrong password' };
    if (this.verified.size >= 1000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(memo, hash);
    return { ok: true, credential };
  }

  private hashOf(name: string): string | undefined {
    return this.fileUsers.get(name) ?? this.configUsers.find((u) => u.name === name)?.password;
  }

  /**
   * Re-reads the htpasswd file when it changed; at start-up (`strict`) a bad file is a ConfigError,
   * later it is logged once per change and the previous users stay.
   */
  private reload(strict: boolean): void {
    const file = this.htpasswd;
    if (file === undefined) return;
    let stamp = 'unreadable';
    try {
      const st = statSync(file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (stamp === this.fileStamp) return;
      const users = parseHtpasswd(readFileSync(file, 'utf8'), file);
      this.fileUsers = users;
      this.fileStamp = stamp;
      this.unknownAccountHash = standInHash([...users.values(), ...this.configUsers.map((u) => u.password)]);
      if (!strict) this.logger.info({ file, users: users.size }, 'htpasswd file reloaded');
      this.onLoad([...users.keys(), ...this.configUsers.map((u) => u.name).filter((n) => !users.has(n))]);
    } catch (err) {
      const message = err instanceof ConfigError ? err.message : `auth.htpasswd.path = ${JSON.stringify(file)}: cannot read the file (${(err as Error).message})`;
      if (strict) throw new ConfigError(message);
      if (stamp !== this.fileStamp) this.logger.error({ file, error: message }, 'htpasswd file not reloaded; the previous users stay');
      this.fileStamp = stamp;
    }
  }
}
