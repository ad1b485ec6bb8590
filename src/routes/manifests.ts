/**
 * Manifests (Distribution Spec v1.1 end-3 `GET/HEAD`, end-7 `PUT`, end-9 `DELETE`
 * `/v2/<name>/manifests/<reference>`), served byte for byte with the media type they were pushed with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../oci/errors.js';
import { parseDigest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { parseTag, type Tag } from '../oci/reference.js';
import type { ManifestReference } from '../registry/manifests.js';
import { inRepository, mediaTypeOf, repositoryOf, requireDeletes, type Handler } from './context.js';

type ManifestRoute = { area: 'manifests'; name: string; reference: string };

/**
 * A tag or a digest (a reference with `:` is a digest).
 * @throws RegistryError TAG_INVALID | DIGEST_INVALID
 */
export function parseReference(reference: string): ManifestReference {
  return reference.includes(':') ? { digest: parseDigest(reference) } : { tag: parseTag(reference) };
}

/** The `mediaType` field of a manifest's JSON (the manifest parsed when it was stored: this cannot throw on it). */
function bodyMediaType(body: Buffer): string | undefined {
  return (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType;
}

/** The tag of a reference, or undefined for a digest. */
export function tagOf(reference: ManifestReference): Tag | undefined {
  return 'tag' in reference ? reference.tag : undefined;
}

/** The headers of a manifest answer: its media type, digest (also as ETag) and size in bytes. */
export function manifestHeaders(res: ServerResponse, digest: string, mediaType: string, size: number): void {
  res.setHeader('Content-Type', mediaType);
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('ETag', `"${digest}"`);
  res.setHeader('Content-Length', size);
}

/**
 * Reads a manifest body, at most {@link MAX_MANIFEST_BYTES}; a larger one is refused before or as soon
 * as it exceeds the limit, without buffering the rest.
 * @throws RegistryError MANIFEST_INVALID with status 413
 */
async function readManifestBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () =>
    new RegistryError('MANIFEST_INVALID', {
      status: 413,
      message: `the manifest is larger than the limit of ${MAX_MANIFEST_BYTES} bytes`,
      detail: { limit: MAX_MANIFEST_BYTES },
    });
  if (Number(req.headers['content-length'] ?? 0) > MAX_MANIFEST_BYTES) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MANIFEST_BYTES) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A reference to read by: as {@link parseReference}, but a malformed tag or digest names no manifest,
 * so it is 404 MANIFEST_UNKNOWN (Distribution Spec v1.1 end-3 lists only 200 and 404 for `GET`/`HEAD`;
 * CNCF Distribution answers so, and the OCI conformance suite asks it for `.INVALID_MANIFEST_NAME`).
 * @throws RegistryError MANIFEST_UNKNOWN
 */
export function readReference(reference: string): ManifestReference {
  try {
    return parseReference(reference);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    throw new RegistryError('MANIFEST_UNKNOWN', { message: `${err.message}: no manifest has this reference`, detail: { reference: reference.slice(0, 200) } });
  }
}

/**
 * `GET` and `HEAD` of a manifest by tag or digest: 200 with the stored bytes and media type; 404
 * MANIFEST_UNKNOWN (also for a malformed reference). Either by tag counts as a pull of the tag for
 * retention's `unpulledfor` (containerd resolves a tag with HEAD, then pulls by digest).
 */
export const getManifest: Handler<ManifestRoute> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  let reference: ManifestReference | undefined;
  const manifest = await inRepository(deps, name, async () => deps.registry.manifests.get(name, (reference = readReference(route.reference))));
  const tag = reference && tagOf(reference);
  if (tag !== undefined) await deps.registry.pulls.record(name, tag);
  manifestHeaders(res, manifest.digest, manifest.mediaType, manifest.body.length);
  if (req.method === 'GET') void deps.events?.record(req, res, 'pull', { kind: 'manifest', repository: name, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.body.length, tag, body: manifest.body });
  if (req.method === 'HEAD') res.end();
  else res.end(manifest.body);
};

/** `PUT` of a manifest by tag or digest: 201 with Location, Docker-Content-Digest and (with a subject) OCI-Subject. */
export const putManifest: Handler<ManifestRoute> = async (req, res, route, deps) => {
  const name = repositoryOf(route);
  const reference = parseReference(route.reference);
  const body = await readManifestBody(req);
  const pushed = await deps.registry.manifests.put(name, reference, body, mediaTypeOf(req));
  await deps.events?.record(req, res, 'push', { kind: 'manifest', repository: name, digest: pushed.digest, mediaType: mediaTypeOf(req) ?? bodyMediaType(body), size: body.length, tag: tagOf(reference), body });
  res.setHeader('Location', `/v2/${name}/manifests/${pushed.digest}`);
  res.setHeader('Docker-Content-Digest', pushed.digest);
  if (pushed.subject) res.setHeader('OCI-Subject', pushed.subject);
  res.setHeader('Content-Length', 0);
  res.statusCode = 201;
  res.end();
};

/** `DELETE` of a manifest (by digest: with its tags) or of a tag: 202; 405 UNSUPPORTED when deletes are disabled. */
export const deleteManifest: Handler<ManifestRoute> = async (req, res, route, deps) => {
  requireDeletes(deps, 'GET, HEAD, PUT');
  const name = repositoryOf(route);
  const reference = parseReference(route.reference);
  await inRepository(deps, name, () => deps.registry.manifests.delete(name, reference));
  await deps.events?.record(req, res, 'delete', 'digest' in reference ? { kind: 'manifest', repository: name, digest: reference.digest.digest } : { kind: 'manifest', repository: name, tag: reference.tag });
  res.setHeader('Content-Length', 0);
  res.statusCode = 202;
  res.end();
};
