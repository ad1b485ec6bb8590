/**
 * The page's one way to the server: the admin API, the registry API (`/v2/`) and `/ui/session`, all
 * on the page's own origin. Credentials live in this object's memory only (never in storage or a
 * cookie), so a reload signs out:
 * - `basic` mode: the account's Basic credentials go with every request;
 * - `token` mode: the login asks the built-in token server for a refresh token
 *   (`grant_type=password`, `access_type=offline`) and forgets the password; each request gets an
 *   access token for the scope it needs (`registry:admin:*`, `registry:catalog:*`,
 *   `repository:<name>:pull`), asked with `grant_type=refresh_token` and kept until it expires.
 * Tokens go in the `Authorization` header, never in a URL; nothing changes state on GET.
 */

/** What `/ui/session` answers (src/ui/session.ts). */
export interface Session {
  auth: 'none' | 'basic' | 'token';
  service: string | null;
  account: string | null;
  admin: boolean;
}

/** An answer other than 2xx, with the spec's error code when the body carried one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The token scope a request to `path` needs (Docker token authentication's scope grammar). */
export function scopeOf(path: string): string {
  if (path.startsWith('/admin/')) return 'registry:admin:*';
  if (path.startsWith('/v2/_catalog')) return 'registry:catalog:*';
  const m = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(path.split('?')[0] ?? '');
  return m ? `repository:${m[1]}:pull` : '';
}

/** Reads the spec's error JSON (`{"errors":[{code,message}]}`) of a failed answer. */
async function errorOf(res: Response): Promise<ApiError> {
  let code = 'UNKNOWN';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
    const e = body.errors?.[0];
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
  } catch {
    // not JSON: the status says it
  }
  return new ApiError(res.status, code, message);
}

/** Options of {@link Api.fetch}. */
export interface FetchOptions {
  method?: string;
  accept?: string;
  json?: unknown;
}

/** The signed-in client of the page. */
export class Api {
  session: Session = { auth: 'none', service: null, account: null, admin: true };
  private basic: string | undefined;
  private refresh: string | undefined;
  private readonly tokens = new Map<string, { token: string; until: number }>();

  /** Reads `/ui/session` (with the current credentials). */
  async load(): Promise<Session> {
    const headers: Record<string, string> = {};
    const auth = await this.authorization('');
    if (auth) headers.Authorization = auth;
    const res = await globalThis.fetch('/ui/session', { headers, credentials: 'omit' });
    if (!res.ok) throw await errorOf(res);
    this.session = (await res.json()) as Session;
    return this.session;
  }

  /** True when the page must show its login form before anything else. */
  get needsLogin(): boolean {
    return this.session.auth !== 'none' && this.session.account === null;
  }

  /**
   * Signs in with an account and password (see the module doc for each mode).
   * @throws ApiError 401 for wrong credentials, 429 while the account is locked out
   */
  async login(account: string, password: string): Promise<Session> {
    this.logout();
    if (this.session.auth === 'token') {
      const form = new URLSearchParams({ grant_type: 'password', username: account, password, service: this.session.service ?? '', access_type: 'offline', client_id: 'wharf-ui' });
      const body = await this.tokenRequest(form);
      if (!body.refresh_token) throw new ApiError(500, 'UNKNOWN', 'the token server gave no refresh token');
      this.refresh = body.refresh_token;
    } else {
      this.basic = `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${account}:${password}`)))}`;
    }
    try {
      return await this.load();
    } catch (err) {
      this.logout();
      throw err;
    }
  }

  /** Forgets every credential. */
  logout(): void {
    this.basic = undefined;
    this.refresh = undefined;
    this.tokens.clear();
    if (this.session.auth !== 'none') this.session = { ...this.session, account: null, admin: false };
  }

  private async tokenRequest(form: URLSearchParams): Promise<{ token: string; expires_in: number; refresh_token?: string }> {
    const res = await globalThis.fetch('/auth/token', { method: 'POST', body: form, credentials: 'omit' });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as { token: string; expires_in: number; refresh_token?: string };
  }

  /** The `Authorization` header for a request needing `scope`; undefined when signed out or without auth. */
  private async authorization(scope: string): Promise<string | undefined> {
    if (this.basic) return this.basic;
    if (!this.refresh) return undefined;
    const cached = this.tokens.get(scope);
    if (cached && cached.until > Date.now()) return `Bearer ${cached.token}`;
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.refresh, service: this.session.service ?? '', client_id: 'wharf-ui' });
    if (scope) form.set('scope', scope);
    const body = await this.tokenRequest(form);
    if (body.refresh_token) this.refresh = body.refresh_token;
    this.tokens.set(scope, { token: body.token, until: Date.now() + Math.max(0, body.expires_in - 10) * 1000 });
    return `Bearer ${body.token}`;
  }

  /**
   * A request to the server with the credentials it needs.
   * @throws ApiError for an answer other than 2xx (the spec's error code and message)
   */
  async fetch(path: string, opts: FetchOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    const auth = await this.authorization(scopeOf(path));
    if (auth) headers.Authorization = auth;
    if (opts.accept) headers.Accept = opts.accept;
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await globalThis.fetch(path, { method: opts.method ?? 'GET', headers, body, credentials: 'omit' });
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  /** GET `path` as JSON. @throws ApiError */
  async json<T>(path: string, accept?: string): Promise<T> {
    return (await (await this.fetch(path, { accept })).json()) as T;
  }
}
