/**
 * The built-in token server (Docker token authentication, "Requesting a Token" and "OAuth2 Token
 * Authentication"): checks credentials, intersects the requested scopes with what the rules allow
 * (asking for more is no error; the token simply holds less) and signs the token. Refresh tokens
 * (`offline_token=true` or `access_type=offline`) let `docker login` keep an identity token instead
 * of the password; they stop working when the account is removed or its password changes.
 */
import type { Logger } from 'pino';
import { RegistryError } from '../oci/errors.js';
import type { Auth } from './auth.js';
import { basicChallenge, unauthorized } from './challenge.js';
import { formatScopes, scopesForLog, type ResourceActions } from './scope.js';
import { InvalidTokenError } from './tokens.js';

/** The token endpoint's JSON answer. */
export interface TokenResponse {
  token: string;
  access_token: string;
  /** seconds */
  expires_in: number;
  /** RFC 3339 */
  issued_at: string;
  refresh_token?: string;
  /** the granted scopes, space-separated (OAuth2 form) */
  scope: string;
}

/** Who asks for a token. */
export type TokenRequester =
  | { kind: 'anonymous' }
  | { kind: 'password'; name: string; password: string; address: string }
  | { kind: 'refresh'; refreshToken: string; address: string };

/** Issues tokens for an {@link Auth} in token mode. */
export class TokenServer {
  constructor(
    private readonly auth: Auth,
    private readonly logger: Logger,
  ) {}

  /** The service this server issues tokens for. */
  get service(): string {
    return this.auth.token!.service;
  }

  /**
   * Checks that a request names this server's service (or none).
   * @throws RegistryError DENIED (400) naming the service that is served
   */
  checkService(service: string | undefined): void {
    if (service !== undefined && service !== '' && service !== this.service) {
      throw new RegistryError('DENIED', { status: 400, message: `this token server issues tokens for service "${this.service}", not "${service.slice(0, 100)}"` });
    }
  }

  /**
   * Authenticates `who` and issues a token holding `scopes` ∩ the rules for that account.
   * @param offline also issue a refresh token (needs credentials)
   * @throws RegistryError UNAUTHORIZED for wrong credentials or a bad refresh token, TOOMANYREQUESTS while locked out
   */
  async issue(who: TokenRequester, scopes: ResourceActions[], offline: boolean): Promise<TokenResponse> {
    const challenge = basicChallenge(this.service);
    let account: string | undefined;
    let credential: string | undefined;
    if (who.kind === 'password') {
      ({ account, credential } = await this.auth.login(who.name, who.password, who.address, challenge));
    } else if (who.kind === 'refresh') {
      ({ account, credential } = this.checkRefresh(who.refreshToken, who.address, challenge));
    }
    const granted = this.auth.policy.grant(account, scopes);
    const token = this.auth.token!.issuer.accessToken(account, granted);
    const response: TokenResponse = {
      token: token.token,
      access_token: token.token,
      expires_in: token.expiresIn,
      issued_at: token.issuedAt.toISOString(),
      scope: formatScopes(granted),
    };
    if (offline && account !== undefined && credential !== undefined && who.kind === 'password') {
      response.refresh_token = this.auth.token!.issuer.refreshToken(account, credential).token;
    }
    this.logger.info({ account: account ?? '(anonymous)', requested: scopesForLog(scopes), granted: scopesForLog(granted), grant: who.kind }, 'token issued');
    return response;
  }

  /** Verifies a refresh token and that its account still exists with the same password. */
  private checkRefresh(raw: string, address: string, challenge: string): { account: string; credential: string } {
    try {
      const refresh = this.auth.token!.verifier.verifyRefresh(raw);
      if (this.auth.users?.credential(refresh.account) !== refresh.credential) {
        throw new InvalidTokenError('the account was removed or its password changed since the refresh token was issued');
      }
      return refresh;
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
      this.logger.warn({ address, reason: err.message }, 'refresh token rejected');
      throw unauthorized(challenge, `invalid refresh token: ${err.message}`);
    }
  }
}
