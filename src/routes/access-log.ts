/**
 * One structured log line per request, written when the response closes:
 * `{reqId, req: {method, path, bytes}, res: {status, bytes}, durationMs, msg: "request"}` at `info`
 * (`request failed` at `error` for a 5xx). `req.bytes` and `res.bytes` are the body bytes actually
 * received and sent (a cut download logs what went out, not its Content-Length). When the connection
 * closed before the answer ended (the client went away, or the answer was cut), the line is
 * `request aborted` at `warn` with `aborted: true`, and `res.status` is the status that was sent, or
 * null when none was.
 * Only these fields are logged: headers (Authorization, cookies), query strings and bodies never are.
 * Written directly with pino: pino-http's per-request child logger and serializers cost about 5 % of
 * a manifest GET's CPU (docs/performance.md).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HttpMetrics } from '../observability/http-metrics.js';
import { hasBody, pathOf } from './context.js';

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

/** The byte length of a chunk given to `write`/`end` (a string in `encoding`, or bytes). */
function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as Uint8Array | null | undefined)?.byteLength ?? 0;
}

/**
 * Counts the body bytes of `req` as Node's HTTP parser hands them over (whether or not a handler reads
 * them) and those written to `res` (the body only: Node drops a HEAD answer's body itself).
 */
function countBodies(req: IncomingMessage, res: ServerResponse): { received: () => number; sent: () => number } {
  let received = 0;
  let sent = 0;
  if (hasBody(req)) {
    const push = req.push;
    req.push = function (chunk: unknown, encoding?: BufferEncoding) {
      received += chunkBytes(chunk, encoding);
      return push.call(this, chunk, encoding);
    };
  }
  const { write, end } = res;
  const head = req.method === 'HEAD';
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (!head) sent += chunkBytes(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (!head && typeof chunk !== 'function') sent += chunkBytes(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  return { received: () => received, sent: () => sent };
}

/**
 * The access log writing to `logger`: call it first for every request. With `metrics`, each request
 * is also measured (HttpMetrics.begin now, .end in the same `close` listener as its log line, with
 * the same duration and body bytes): no listener of its own per request.
 */
export function accessLog(logger: Logger, metrics?: HttpMetrics) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now();
    // read now: express rewrites req.url inside mounted routers; the query may carry a credential
    const path = pathOf(req);
    const route = metrics?.begin(path);
    req.id = requestId(req, res);
    req.log = logger;
    const bytes = countBodies(req, res);
    // 'finish': the whole answer was handed to the connection (writableFinished turns true again once a
    // cut connection dropped its buffers, so it cannot tell an aborted answer at 'close')
    let finished = false;
    res.once('finish', () => (finished = true));
    res.once('close', () => {
      const aborted = !finished;
      const ms = performance.now() - start;
      const received = bytes.received();
      const sent = bytes.sent();
      const line = {
        reqId: req.id,
        req: { method: req.method, path, bytes: received },
        res: { status: res.headersSent ? res.statusCode : null, bytes: sent },
        durationMs: Math.round(ms),
        ...(aborted ? { aborted } : {}),
      };
      if (aborted) logger.warn(line, 'request aborted');
      else if (res.statusCode >= 500) logger.error(line, 'request failed');
      else logger.info(line, 'request');
      if (route) metrics!.end(route, req.method ?? 'GET', res.statusCode, ms / 1000, received, sent, req.headers.authorization !== undefined);
    });
  };
}
