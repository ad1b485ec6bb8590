/**
 * `http.host` and `http.relativeurls` as CNCF Distribution reads them: the base of the URLs the
 * registry hands out (Location headers, notification events). With `relativeurls: true`, or when
 * neither key is set (Wharf's default), Location headers are absolute paths (`/v2/...`), which every
 * client resolves against the URL it called; with `http.host` they start with that URL; with
 * `relativeurls: false` and no host they start with the scheme and host the request came through
 * (`X-Forwarded-Proto` and `X-Forwarded-Host` of a reverse proxy first).
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';

/** The first value of a comma-separated forwarding header. */
function forwarded(req: IncomingMessage, name: string): string | undefined {
  const raw = req.headers[name];
  const first = (Array.isArray(raw) ? raw[0] : raw)?.split(',')[0]?.trim();
  return first || undefined;
}

/** `scheme://host` of the request as the client reached it (through a reverse proxy: its forwarding headers). */
export function requestOrigin(req: IncomingMessage): string {
  const proto = forwarded(req, 'x-forwarded-proto') ?? ((req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http');
  const host = forwarded(req, 'x-forwarded-host') ?? req.headers.host ?? 'localhost';
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}

/**
 * The base URL that registry paths are appended to for `req`: '' for relative URLs, else `http.host`
 * (without a trailing `/`) or the request's origin.
 */
export function urlBase(http: Config['http'], req: IncomingMessage): string {
  if (http.relativeurls === true || (http.relativeurls === undefined && http.host === undefined)) return '';
  return http.host?.replace(/\/+$/, '') ?? requestOrigin(req);
}

/**
 * The ServerResponse class of the listener: one that prefixes Location paths with {@link urlBase},
 * or undefined when Location headers stay paths (then Node's own class serves, at no cost).
 */
export function locationResponseClass(http: Config['http']): typeof ServerResponse | undefined {
  if (http.relativeurls === true || (http.relativeurls === undefined && http.host === undefined)) return undefined;
  class AbsoluteLocationResponse extends ServerResponse {
    override setHeader(name: string, value: number | string | readonly string[]): this {
      if (typeof value === 'string' && value.startsWith('/') && name.toLowerCase() === 'location') value = urlBase(http, this.req) + value;
      return super.setHeader(name, value);
    }
  }
  return AbsoluteLocationResponse as typeof ServerResponse;
}
