/**
 * Manifest transfer of the registry client (Distribution Spec v1.1 "Pulling manifests", "Pushing
 * manifests", "Deleting manifests"): GET with every manifest media type accepted and the bytes
 * verified against the digest asked or announced, HEAD, PUT (with the referrers tag fallback for a
 * registry without the referrers API) and DELETE. {@link RegistryClient}'s methods of the same names
 * are the entry point; each request goes through {@link RegistryClient.request} (auth, retries).
 */
import { digestBytes, parseDigest, type Digest } from '../oci/digest.js';
import { formatReference, manifestIdentifier, type ImageReference } from '../oci/image-reference.js';
import { MAX_MANIFEST_BYTES, type Descriptor } from '../oci/manifest.js';
import { MANIFEST_MEDIA_TYPES } from '../oci/media-types.js';
import { repositoryScope } from './auth/challenge.js';
import { ClientError } from './errors.js';
import { drain, header, readBody } from './http-body.js';
import { addToReferrersTag } from './listings.js';
import type { CallOptions, FetchedManifest, RegistryClient, Repo } from './registry-client.js';

/**
 * Fetches a manifest by tag or digest (`ref.digest` wins), with every manifest media type accepted.
 * @throws ClientError DIGEST_MISMATCH when the bytes do not hash to the digest asked (or announced);
 *   PROTOCOL when the manifest is larger than MAX_MANIFEST_BYTES (4 MiB); RegistryClientError MANIFEST_UNKNOWN (404)
 */
export async function getManifest(client: RegistryClient, ref: ImageReference, options: CallOptions & { accept?: readonly string[] } = {}): Promise<FetchedManifest> {
  const id = manifestIdentifier(ref);
  const res = await client.request(ref.registry, [repositoryScope(ref.repository, ['pull'])], {
    method: 'GET',
    path: `/v2/${ref.repository}/manifests/${id}`,
    headers: { accept: (options.accept ?? MANIFEST_MEDIA_TYPES).join(', ') },
    expect: [200],
    signal: options.signal,
  });
  const bytes = await readBody(res.body, MAX_MANIFEST_BYTES).catch((err: unknown) => {
    if (!/larger than/.test((err as Error)?.message ?? '')) throw err;
    throw new ClientError('PROTOCOL', `${formatReference(ref)}: the registry sent a manifest larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB, the limit of registries and clients`, {
      cause: err,
      hint: 'this is not an image manifest: check the reference and the registry',
    });
  });
  const wanted = ref.digest ?? header(res, 'docker-content-digest');
  const algorithm = wanted ? parseDigest(wanted).algorithm : 'sha256';
  const digest = digestBytes(bytes, algorithm);
  if (wanted && wanted !== digest) {
    throw new ClientError('DIGEST_MISMATCH', `${formatReference(ref)}: the registry sent a manifest whose digest is ${digest}, not ${wanted}`);
  }
  const mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim() || mediaTypeOf(bytes);
  return { digest, mediaType, bytes };
}

/** `HEAD` of a manifest: its descriptor, or undefined when the registry does not have it (404). */
export async function headManifest(client: RegistryClient, ref: ImageReference, options: CallOptions = {}): Promise<Descriptor | undefined> {
  const res = await client.request(ref.registry, [repositoryScope(ref.repository, ['pull'])], {
    method: 'HEAD',
    path: `/v2/${ref.repository}/manifests/${manifestIdentifier(ref)}`,
    headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    expect: [200, 404],
    signal: options.signal,
  });
  await drain(res);
  if (res.status === 404) return undefined;
  const digest = header(res, 'docker-content-digest') ?? ref.digest;
  if (!digest) throw new ClientError('PROTOCOL', `${formatReference(ref)}: HEAD answered no Docker-Content-Digest`);
  return {
    mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim(),
    digest: parseDigest(digest).digest,
    size: Number(header(res, 'content-length') ?? 0),
  };
}

/**
 * Pushes a manifest's exact bytes under `reference` (a tag, or its digest). A manifest with a
 * `subject` pushed to a registry without the referrers API (no `OCI-Subject` in the answer) is
 * also added to the subject's referrers tag (see `addToReferrersTag`).
 * @returns the manifest's digest
 * @throws RegistryClientError MANIFEST_INVALID | MANIFEST_BLOB_UNKNOWN | ...
 */
export async function putManifest(client: RegistryClient, repo: Repo, reference: string, bytes: Buffer, mediaType: string, options: CallOptions = {}): Promise<Digest> {
  const res = await client.request(repo.registry, [repositoryScope(repo.repository, ['pull', 'push'])], {
    method: 'PUT',
    path: `/v2/${repo.repository}/manifests/${reference}`,
    headers: { 'content-type': mediaType },
    body: bytes,
    expect: [200, 201, 202, 204],
    signal: options.signal,
  });
  await drain(res);
  const digest = digestBytes(bytes);
  const subject = subjectOf(bytes);
  if (subject && !header(res, 'oci-subject')) {
    await addToReferrersTag(client, repo, subject, { mediaType, digest, size: bytes.length, ...referrerFields(bytes) }, options);
  }
  return digest;
}

/** Deletes a manifest by digest (or, where the registry allows it, a tag). @throws RegistryClientError */
export async function deleteManifest(client: RegistryClient, ref: ImageReference, options: CallOptions = {}): Promise<void> {
  const res = await client.request(ref.registry, [repositoryScope(ref.repository, ['delete'])], {
    method: 'DELETE',
    path: `/v2/${ref.repository}/manifests/${manifestIdentifier(ref)}`,
    expect: [200, 202, 204],
    signal: options.signal,
  });
  await drain(res);
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof json.mediaType === 'string') return json.mediaType;
    return Array.isArray(json.manifests) ? MANIFEST_MEDIA_TYPES[0]! : MANIFEST_MEDIA_TYPES[1]!;
  } catch {
    return 'application/octet-stream';
  }
}

function subjectOf(bytes: Buffer): Digest | undefined {
  try {
    const d = (JSON.parse(bytes.toString('utf8')) as { subject?: { digest?: unknown } }).subject?.digest;
    return typeof d === 'string' ? parseDigest(d).digest : undefined;
  } catch {
    return undefined;
  }
}

/** `artifactType` and `annotations` of a referrer's descriptor (image-spec: from the manifest, else its config's media type). */
function referrerFields(bytes: Buffer): Pick<Descriptor, 'artifactType' | 'annotations'> {
  const m = JSON.parse(bytes.toString('utf8')) as { artifactType?: string; config?: { mediaType?: string }; annotations?: Record<string, string> };
  const artifactType = m.artifactType ?? m.config?.mediaType;
  return { ...(artifactType ? { artifactType } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) };
}
