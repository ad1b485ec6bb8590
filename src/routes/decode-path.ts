/**
 * Percent-decoding of request paths, shared by the `/v2/` and `/admin/v1/` routers so that both read
 * a URL the same way.
 */
import { RegistryError } from '../oci/errors.js';

/**
 * Percent-decodes a request path, as CNCF Distribution's router does (clients may send
 * `sha256%3A...`); the decoded names, tags and digests are validated by the handlers.
 * @throws RegistryError NAME_INVALID for malformed percent-encoding
 */
export function decodePath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    throw new RegistryError('NAME_INVALID', { message: 'malformed percent-encoding in the URL' });
  }
}
