/**
 * Challenges: the 401 answers that tell a client how to authenticate (RFC 6750 section 3 for
 * `Bearer`, as the Docker token authentication specification uses it; RFC 7617 for `Basic`), and
 * the 403 DENIED answer for access that no credential would get.
 */
import { RegistryError } from '../oci/errors.js';
import { formatScopes, type ResourceActions } from './scope.js';

/** Why a bearer challenge is sent again: no usable token, or a token short of the needed actions (RFC 6750 section 3.1). */
export type BearerError = 'invalid_token' | 'insufficient_scope';

/** Quotes a challenge parameter value (RFC 9110 quoted-string: `\` and `"` escaped). */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` value.
 * @param scopes what the request needs; omitted from the header when empty (as for `GET /v2/`)
 */
export function bearerChallenge(realm: string, service: string, scopes: readonly ResourceActions[], error?: BearerError): string {
  const params = [`realm=${quoted(realm)}`, `service=${quoted(service)}`];
  if (scopes.length > 0) params.push(`scope=${quoted(formatScopes(scopes))}`);
  if (error) params.push(`error=${quoted(error)}`);
  return `Bearer ${params.join(',')}`;
}

/** The `WWW-Authenticate: Basic realm="..."` value (RFC 7617 section 2, with `charset="UTF-8"`). */
export function basicChallenge(realm: string): string {
  return `Basic realm=${quoted(realm)},charset="UTF-8"`;
}

/** 401 UNAUTHORIZED with `challenge` as `WWW-Authenticate`; `detail` lists the access the request needs. */
export function unauthorized(challenge: string, message: string, needed: readonly ResourceActions[] = []): RegistryError {
  return new RegistryError('UNAUTHORIZED', {
    message,
    detail: needed.length > 0 ? needed : undefined,
    headers: { 'WWW-Authenticate': challenge },
  });
}

/** 403 DENIED: the account may never have the access `needed`, whatever token it asks for. */
export function denied(account: string | undefined, needed: readonly ResourceActions[]): RegistryError {
  const who = account === undefined ? 'anonymous access' : `account "${account}"`;
  return new RegistryError('DENIED', {
    message: `requested access to the resource is denied: ${who} may not ${formatScopes(needed)}`,
    detail: needed,
  });
}
