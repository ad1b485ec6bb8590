/**
 * One structured log line per request (pino-http): request id, method, path, status, bytes sent
 * and duration. Only these fields are logged: headers (Authorization, cookies), query strings and bodies never are.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';

const INCOMING_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request id: the client's `X-Request-Id` when well-formed, else a new UUID; echoed as `X-Request-Id`. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The access-log middleware writing to `logger`. */
export function accessLog(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: requestId,
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'reqId', responseTime: 'durationMs' },
    serializers: {
      // the path without its query: a query string may carry a credential
      req: (req: { id: string; method: string; url: string }) => ({ method: req.method, path: req.url.split('?', 1)[0] }),
      res: (res: { statusCode: number; headers?: Record<string, unknown> }) => ({
        status: res.statusCode,
        bytes: Number(res.headers?.['content-length'] ?? 0),
      }),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
  });
}
