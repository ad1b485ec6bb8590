/**
 * One structured log line per request: request id, method, path, status, bytes sent and duration
 * (`{reqId, req: {method, path}, res: {status, bytes}, durationMs, msg: "request"}`, at `error` for a
 * 5xx, at `warn` with `msg: "request aborted"` when the connection closed before the answer ended).
 * Only these fields are logged: headers (Authorization, cookies), query strings and bodies never are.
 * Written directly with pino when the response closes: pino-http's per-request child logger and
 * serializers cost about 5 % of a manifest GET's CPU (README "Performance").
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pathOf } from './context.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** the request id (see {@link accessLog}) */
    id: string;
    /** the server's logger; lines about a request carry its `reqId` */
    log: Logger;
  }
}

const INCOMING_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request id: the client's `X-Request-Id` when well-formed, else a new UUID; echoed as `X-Request-Id`. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The access log writing to `logger`: call it first for every request. */
export function accessLog(logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now();
    // read now: express rewrites req.url inside mounted routers; the query may carry a credential
    const path = pathOf(req);
    req.id = requestId(req, res);
    req.log = logger;
    res.once('close', () => {
      const line = {
        reqId: req.id,
        req: { method: req.method, path },
        res: { status: res.statusCode, bytes: Number(res.getHeader('content-length') ?? 0) },
        durationMs: Math.round(performance.now() - start),
      };
      if (!res.writableFinished) logger.warn(line, 'request aborted');
      else if (res.statusCode >= 500) logger.error(line, 'request failed');
      else logger.info(line, 'request');
    });
  };
}
