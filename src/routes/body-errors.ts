/**
 * Errors of express's body parsers (body-parser: http-errors errors with `status` and `type`) as the
 * registry errors a client gets, shared by every route that parses a small request body
 * (`POST /auth/token`'s form, `POST /admin/v1/gc`'s JSON).
 */
import { RegistryError } from '../oci/errors.js';
import { ClientGoneError } from './errors.js';

/** What a route's body is, for the messages. */
export interface BodyKind {
  /** e.g. "the form" */
  what: string;
  /** the limits, e.g. "65536 bytes and 1000 fields" */
  limits: string;
  /** the accepted type, e.g. "application/x-www-form-urlencoded in UTF-8" */
  accepts: string;
}

/**
 * Maps a body parser's client error: too large -> 413 SIZE_INVALID; an unknown `Content-Encoding`
 * or charset -> 415 UNSUPPORTED; anything else the client sent wrong (bytes that are not the gzip
 * they claim to be, a bad length, unparsable content) -> 400 UNSUPPORTED; the client going away ->
 * {@link ClientGoneError}. Other errors (5xx: the server's fault) are returned as they are.
 */
export function bodyParserError(err: unknown, kind: BodyKind): unknown {
  const e = err as { status?: unknown; type?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return err;
  const reason = String(e.message).slice(0, 200);
  switch (e.type) {
    case 'request.aborted':
      return new ClientGoneError();
    case 'entity.too.large':
    case 'parameters.too.many':
      return new RegistryError('SIZE_INVALID', { status: 413, message: `${kind.what} is too large (${reason}); at most ${kind.limits}` });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new RegistryError('UNSUPPORTED', { status: 415, message: `${reason}: send ${kind.what} as ${kind.accepts}, plain, gzip or deflate` });
    default:
      return new RegistryError('UNSUPPORTED', { status: 400, message: `${kind.what} cannot be read: ${reason}` });
  }
}
