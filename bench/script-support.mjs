/**
 * What the standalone measuring scripts (bench/*.mjs, run with plain `node` after `npm run build`)
 * share: a free loopback port, a sha256 digest, the OCI image manifest media type.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

/** The OCI image manifest media type (OCI image-spec, manifest.md). */
export const OCI = 'application/vnd.oci.image.manifest.v1+json';

/** `sha256:<hex>` of `bytes` (a Buffer or a string). */
export const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A TCP port on 127.0.0.1 that was free a moment ago (listened on, then closed). */
export async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}
