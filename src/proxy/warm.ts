/**
 * Prefetch (`wharf cache warm REF...`, `POST /admin/v1/cache/warm`): fetches images into the cache
 * ahead of time, so that a busy CI window starts warm. An image index is fetched with the children
 * of the platforms asked (all when none are), each child with its config and layers, three blobs at
 * a time, each through the same single-flight fills that pulls use.
 */
import { parseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseImageReference } from '../oci/image-reference.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { platformMatches, type Platform } from '../oci/platform.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { forEachLimit } from '../registry/limit.js';
import type { PullThroughCache } from './cache.js';
import type { UpstreamTarget } from './routing.js';

/** What prefetching one reference did. */
export interface WarmReport {
  /** the reference as given */
  reference: string;
  /** the upstream it came from */
  upstream?: string;
  /** the repository it is cached in (pull it from there, or through routing) */
  repository?: string;
  /** the digest the reference named */
  digest?: string;
  /** manifests now cached (the index and its children) */
  manifests: number;
  /** blobs now cached */
  blobs: number;
  /** of those, fetched from the upstream now (the rest were stored already) */
  fetched: number;
  /** bytes of the fetched blobs */
  bytes: number;
  /** why it failed, when it did */
  error?: string;
}

/** How many blobs one warm fetches at a time. */
const BLOB_CONCURRENCY = 3;

/**
 * The upstream repository an image reference names: a registry host written in it that an
 * upstream claims (`ghcr.io/org/tool:1`), else an upstream's prefix (`dockerhub/library/python`),
 * else the upstream that claims `docker.io` (`python:3.12`), else the default upstream.
 * @throws RegistryError NAME_INVALID | TAG_INVALID | DIGEST_INVALID | NAME_UNKNOWN (no upstream serves it)
 */
export async function warmTarget(cache: PullThroughCache, input: string): Promise<{ target: UpstreamTarget; tag?: string; digest?: Digest }> {
  const ref = parseImageReference(input);
  const first = input.trim().split('/')[0]!;
  const explicitHost = input.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const { router } = cache;
  const byHost = explicitHost ? router.byRegistry(ref.registry) : undefined;
  let target: UpstreamTarget | undefined;
  if (byHost) target = router.target(byHost, ref.repository, 'ns');
  else if (!explicitHost) {
    const prefixed = router.prefixed(ref.repository);
    const hub = router.byRegistry('docker.io');
    if (prefixed) target = router.target(prefixed, ref.repository.slice(prefixed.prefix.length + 1) as RepositoryName, 'prefix');
    else if (hub) target = router.target(hub, ref.repository, 'ns');
    else target = await router.read(ref.repository, undefined);
  }
  if (!target) {
    throw new RegistryError('NAME_UNKNOWN', {
      message: explicitHost ? `no upstream serves registry ${ref.registry}: add it to proxy.upstreams (url or namespaces)` : `${input} names a repository of this registry, not an upstream's (and there is no default upstream)`,
    });
  }
  return { target, ...(ref.tag ? { tag: ref.tag } : {}), ...(ref.digest ? { digest: ref.digest } : {}) };
}

/**
 * Fetches image `input` into the cache: its manifest, the children of `platforms` (all when empty), their blobs.
 * Never throws: a failure is the report's `error`.
 */
export async function warmImage(cache: PullThroughCache, input: string, platforms: readonly Platform[] = []): Promise<WarmReport> {
  const report: WarmReport = { reference: input, manifests: 0, blobs: 0, fetched: 0, bytes: 0 };
  try {
    const { target, tag, digest } = await warmTarget(cache, input);
    report.upstream = target.upstream.name;
    report.repository = target.cache;
    const root = await cache.manifests.get(target, digest ? { digest: parseDigest(digest) } : { tag: tag as Tag });
    report.digest = root.manifest.digest;
    report.manifests += 1;
    const images: { body: Buffer; mediaType: string }[] = [];
    const parsed = parseManifest(root.manifest.body, root.manifest.mediaType);
    if (parsed.kind === 'index') {
      const children = parsed.manifests.filter((d) => platforms.length === 0 || platforms.some((p) => platformMatches(d.platform, p)));
      if (children.length === 0) throw new RegistryError('MANIFEST_UNKNOWN', { message: `${input} has no image for ${platforms.map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')).join(', ')}` });
      for (const child of children) {
        const got = await cache.manifests.get(target, { digest: parseDigest(child.digest) });
        report.manifests += 1;
        images.push(got.manifest);
      }
    } else images.push(root.manifest);
    const blobs = new Map<Digest, Descriptor>();
    for (const image of images) for (const d of parseManifest(image.body, image.mediaType).blobs) blobs.set(d.digest, d);
    await forEachLimit([...blobs.values()], BLOB_CONCURRENCY, async (d) => {
      const fetched = await cache.blobs.ensure(target, parseDigest(d.digest));
      report.blobs += 1;
      if (fetched) {
        report.fetched += 1;
        report.bytes += d.size;
      }
    });
  } catch (err) {
    report.error = (err as Error).message;
  }
  return report;
}
