/**
 * The only place that turns an error into a response: the spec's JSON body
 * `{"errors":[{"code","message","detail"}]}` with the code's status (Distribution Spec v1.1
 * "Error Codes"). Unknown errors become 500 UNKNOWN without a stack trace and are logged with the request id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { RegistryError } from '../oci/errors.js';
import { InvalidOffsetError, StorageUnavailableError } from '../storage/driver-errors.js';

/** The client closed the connection before its request body was read: nothing to answer, no server fault. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  constructor() {
    super('client closed the connection');
  }
}

const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR', 'ECONNABORTED', 'EPIPE']);

/** Maps any thrown value to a {@link RegistryError}; undefined when the client went away (nothing to answer). */
export function toRegistryError(err: unknown): RegistryError | undefined {
  if (err instanceof RegistryError) return err;
  const e = err as { code?: string; name?: string };
  if (err instanceof ClientGoneError || e?.name === 'AbortError' || (e?.code && CLIENT_GONE.has(e.code))) return undefined;
  if (err instanceof InvalidOffsetError) return new RegistryError('RANGE_INVALID', { message: err.message });
  if (err instanceof StorageUnavailableError) {
    return new RegistryError('UNAVAILABLE', { message: `storage unavailable: ${err.message}; try again later`, headers: { 'Retry-After': '5' }, cause: err });
  }
  return new RegistryError('UNKNOWN', { message: 'internal error: see the server log for this request id', cause: err });
}

/**
 * True for Node's `ERR_STREAM_DESTROYED` of a write to `res` once it was destroyed: the client went
 * away (its socket closed before the response's own 'close' event ran), as ECONNRESET or EPIPE are.
 */
function writeToClosedResponse(res: ServerResponse, err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'ERR_STREAM_DESTROYED' && (res.destroyed || res.socket?.destroyed !== false);
}

/**
 * Answers `err` with the spec's JSON and the code's status (headers of the error included, no body for
 * HEAD); cuts the connection when the client went away or a response was already under way. Unknown
 * errors are logged with the request id.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const e = writeToClosedResponse(res, err) ? undefined : toRegistryError(err);
  if (!e) {
    // not a fault of the server: the access log line says `request aborted` (warn) already
    req.log?.debug({ reqId: req.id }, 'client closed the connection');
    res.destroy();
    return;
  }
  if (e.code === 'UNKNOWN' && e.status >= 500) req.log?.error({ err, reqId: req.id }, 'unhandled error');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(e.toJSON());
  res.statusCode = e.status;
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  // An oversized body (413) is not read to its end: the connection closes once the answer is out, and
  // Node stops reading it then (a keep-alive connection would first drain the whole body).
  if (e.status === 413 && !req.complete) res.setHeader('Connection', 'close');
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The express error middleware of the routers outside `/v2/` (admin API, token endpoint): {@link sendError}. */
export const errorMiddleware: ErrorRequestHandler = (err, req, res, _next) => sendError(req, res, err);

/** Any path that no router served: 404 in the spec's JSON. */
export const notFound: RequestHandler = (req, _res, next) => {
  req.resume();
  next(new RegistryError('UNSUPPORTED', { status: 404, message: `no endpoint at ${req.path.slice(0, 200)}` }));
};

/**
 * The 405 UNSUPPORTED of a method an endpoint does not serve, with the methods it serves in `Allow`
 * (RFC 9110 section 15.5.6); the request's body is drained, so the connection can be reused.
 */
export function methodNotAllowed(req: IncomingMessage, allow: string): RegistryError {
  req.resume();
  return new RegistryError('UNSUPPORTED', { message: `method ${req.method} is not supported on this endpoint`, headers: { Allow: allow } });
}
