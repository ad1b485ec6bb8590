/**
 * Safe defaults without authentication: when the configuration has no `auth` section, the admin API
 * and the deletes of registry content (`DELETE` of a manifest, tag or blob) answer only clients on this
 * machine (a loopback address), unless `admin.allowremote: true`; pushes and pulls stay open to all, as
 * in CNCF Distribution. Behind a reverse proxy on the same machine every client is a loopback client:
 * configure `auth` there.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import { RegistryError } from '../oci/errors.js';

/** True for an IPv4 loopback address (127/8, also IPv4-mapped as `::ffff:127.x.x.x`) and `::1`. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * @param what what the request wants, for the message (e.g. "the admin API")
 * @throws RegistryError DENIED (403) when the registry has no `auth` section, `admin.allowremote` is
 *   false and `req` comes from another machine
 */
export function requireLocalWithoutAuth(req: IncomingMessage, config: Config, what: string): void {
  if (config.auth || config.admin.allowremote || isLoopback(req.socket.remoteAddress)) return;
  throw new RegistryError('DENIED', {
    message:
      `${what} answers only clients on this machine while the registry has no auth section: ` +
      'set admin.allowremote: true to open it to the network, or configure auth (users, tokens and rules) for real use',
    detail: { setting: 'admin.allowremote' },
  });
}
