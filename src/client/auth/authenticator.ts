/**
 * Answers a registry's challenges (go-containerregistry `remote/transport`; the Docker token spec,
 * "Token Authentication Specification" and "OAuth2 Token Authentication"). A request is first sent
 * with what is known of its registry: nothing, Basic credentials, or a cached bearer token for its
 * scopes. On a 401 the `WWW-Authenticate` challenge says how: Basic sends the credentials; Bearer
 * fetches a token from `realm` for `service` and the scopes asked plus the challenge's own, with
 * Basic credentials (GET) or an identity token (POST, grant_type=refresh_token), anonymous without
 * credentials. Tokens are cached per registry and scope set until they expire.
 */
import { readBody } from '../http-body.js';
import { ClientError } from '../errors.js';
import type { Transport } from '../transport.js';
import { challengeScopes, mergeScopes, parseChallenges, type Challenge } from './challenge.js';
import type { CredentialStore, Credentials } from './credentials.js';
import { TokenCache } from './token-cache.js';

/** What a registry asked for: Basic, or Bearer at a realm for a service. */
type Scheme = { kind: 'basic' } | { kind: 'bearer'; realm: string; service?: string };

/** Per-registry authentication of the client. */
export class Authenticator {
  readonly #schemes = new Map<string, Scheme>();
  readonly #credentials = new Map<string, Promise<Credentials | undefined>>();
  /** token fetches in flight, so that concurrent requests of one scope set ask the realm once */
  readonly #fetching = new Map<string, Promise<{ token: string; expiresIn?: number }>>();

  constructor(
    private readonly transport: Transport,
    private readonly store: CredentialStore | undefined,
    private readonly tokens: TokenCache = new TokenCache(),
  ) {}

  /** The `Authorization` value to send to `registry` for `scopes` now, if any is known. */
  async header(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const scheme = this.#schemes.get(registry);
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') return basicHeader(await this.#credentialsOf(registry));
    const token = this.tokens.get(registry, mergeScopes(scopes));
    return token ? `Bearer ${token}` : undefined;
  }

  /**
   * Handles a 401: learns the registry's scheme from `wwwAuthenticate` and returns the header to
   * retry with, or undefined when there is nothing better to send (no challenge, or Basic without credentials).
   * @throws ClientError CREDENTIALS when the realm refuses the credentials or answers no token
   */
  async answer(registry: string, scopes: readonly string[], wwwAuthenticate: string | string[] | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const challenges = parseChallenges(wwwAuthenticate);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      this.#schemes.set(registry, { kind: 'bearer', realm: bearer.params.realm!, service: bearer.params.service });
      const wanted = mergeScopes([...challengeScopes(bearer), ...scopes]);
      const key = `${registry} ${wanted.join(' ')}`;
      let fetching = this.#fetching.get(key);
      if (!fetching) {
        this.tokens.delete(registry, mergeScopes(scopes));
        fetching = this.#fetchToken(registry, bearer, wanted, signal).finally(() => this.#fetching.delete(key));
        this.#fetching.set(key, fetching);
      }
      const { token, expiresIn } = await fetching;
      this.tokens.set(registry, mergeScopes(scopes), token, expiresIn);
      return `Bearer ${token}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.#schemes.set(registry, { kind: 'basic' });
      return basicHeader(await this.#credentialsOf(registry));
    }
    return undefined;
  }

  /** True when credentials are known for `registry` (to tell "log in" from "wrong password"). */
  async hasCredentials(registry: string): Promise<boolean> {
    return (await this.#credentialsOf(registry)) !== undefined;
  }

  #credentialsOf(registry: string): Promise<Credentials | undefined> {
    let found = this.#credentials.get(registry);
    if (!found) {
      found = this.store ? this.store.get(registry) : Promise.resolve(undefined);
      this.#credentials.set(registry, found);
      found.catch(() => this.#credentials.delete(registry));
    }
    return found;
  }

  async #fetchToken(registry: string, challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<{ token: string; expiresIn?: number }> {
    const creds = await this.#credentialsOf(registry);
    if (creds?.registryToken) return { token: creds.registryToken };
    const realm = new URL(challenge.params.realm!);
    const service = challenge.params.service;
    let res;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'wharf', refresh_token: creds.identityToken });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.transport.send({
        method: 'POST',
        url: realm.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal,
      });
    } else {
      if (service) realm.searchParams.set('service', service);
      for (const s of scopes) realm.searchParams.append('scope', s);
      const auth = basicHeader(creds);
      res = await this.transport.send({ method: 'GET', url: realm.toString(), headers: auth ? { authorization: auth } : {}, signal });
    }
    const body = await readBody(res.body, 64 * 1024);
    if (res.status === 401 || res.status === 403) {
      throw new ClientError('CREDENTIALS', `${registry}: the token server refused ${creds ? 'the credentials (wrong username or password?)' : 'anonymous access'}`, {
        hint: `run wharf login ${registry}`,
      });
    }
    if (res.status !== 200) throw new ClientError('CREDENTIALS', `${registry}: the token server ${realm.origin} answered HTTP ${res.status}`);
    let json: { token?: string; access_token?: string; expires_in?: number };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      throw new ClientError('CREDENTIALS', `${registry}: the token server answered something that is not JSON`);
    }
    const token = json.token ?? json.access_token;
    if (!token) throw new ClientError('CREDENTIALS', `${registry}: the token server answered no token`);
    return { token, expiresIn: typeof json.expires_in === 'number' ? json.expires_in : undefined };
  }
}

function basicHeader(creds: Credentials | undefined): string | undefined {
  if (!creds?.username || creds.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}
