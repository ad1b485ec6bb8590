/**
 * Copies an image between any {@link ImageSource} and {@link ImageSink} (go-containerregistry's
 * `remote.Write` and `Pusher` order): blobs before the manifests that name them, an index's
 * children before the index, each digest once (a layer shared by two platforms moves once),
 * `jobs` blobs at a time, the root manifest last; then, with `referrers`, every referrer of every
 * manifest copied (signatures, SBOMs), recursively. Nothing is committed at the sink unless all of
 * it succeeded; on failure the sink is aborted.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { Digest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { DOCKER_CONFIG, OCI_CONFIG } from '../../oci/media-types.js';
import { parseManifest, type Descriptor, type ParsedManifest } from '../../oci/manifest.js';
import { formatPlatform, platformMatches, type Platform } from '../../oci/platform.js';
import type { UploadResult } from '../blob-upload.js';
import { ClientError } from '../errors.js';
import { readBody } from '../http-body.js';
import type { FetchedManifest } from '../registry-client.js';
import type { ImageSink, ImageSource } from './types.js';

/** Image configs larger than this (bytes) are not read for their platform. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** A blob's progress, for progress bars. */
export interface TransferEvent {
  digest: Digest;
  /** bytes */
  size: number;
  /** bytes done so far */
  done: number;
  phase: 'start' | 'progress' | 'end';
  /** how it ended (`end` only) */
  result?: UploadResult;
}

/** Options of {@link copyImage}. */
export interface CopyOptions {
  signal?: AbortSignal;
  /** copy only this platform's image of an index */
  platform?: Platform;
  /** copy the referrers of every manifest copied, recursively (sources that have them: registries) */
  referrers?: boolean;
  /** blobs transferred at once (default 4) */
  jobs?: number;
  /** progress of each blob */
  onTransfer?: (event: TransferEvent) => void;
}

/** What a copy did. */
export interface CopyResult {
  /** the root manifest copied (the platform's image when `platform` picked one) */
  digest: Digest;
  mediaType: string;
  size: number;
  /** blobs by how they arrived, and the bytes sent or received */
  blobs: { uploaded: number; exists: number; mounted: number; bytes: number };
  manifests: number;
  referrers: number;
  /**
   * Set when `platform` was asked of a single image (not an index) whose config names another
   * platform: the image was copied as it is (as crane and regctl do; docker pull refuses), and the
   * command says so.
   */
  platformMismatch?: { wanted: string; actual: string };
}

/**
 * Copies the image `source` names to `sink`, then commits the sink.
 * @throws ClientError NOT_FOUND (no image for the platform) | INVALID_IMAGE | the source's or sink's errors
 */
export async function copyImage(source: ImageSource, sink: ImageSink, options: CopyOptions = {}): Promise<CopyResult> {
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  // every request and retry wait in flight listens to it (jobs x a few): no leak warning past 10
  setMaxListeners(0, signal);
  const limit = pLimit(options.jobs ?? 4);
  const blobs = new Map<Digest, Promise<UploadResult>>();
  const manifests = new Map<Digest, Promise<void>>();
  const result: CopyResult = { digest: '' as Digest, mediaType: '', size: 0, blobs: { uploaded: 0, exists: 0, mounted: 0, bytes: 0 }, manifests: 0, referrers: 0 };

  const blob = (desc: Descriptor): Promise<UploadResult> => {
    let running = blobs.get(desc.digest);
    if (!running) {
      running = limit(async () => {
        signal?.throwIfAborted();
        const emit = (phase: TransferEvent['phase'], done: number, r?: UploadResult) =>
          options.onTransfer?.({ digest: desc.digest, size: desc.size, done, phase, ...(r ? { result: r } : {}) });
        emit('start', 0);
        const onProgress = options.onTransfer && ((done: number) => emit('progress', done));
        const from = source.locationOf?.(desc) ?? source.location;
        const r = await sink.putBlob(desc, source.opener(desc), { signal, from, onProgress });
        result.blobs[r]++;
        if (r === 'uploaded') result.blobs.bytes += desc.size;
        emit('end', desc.size, r);
        return r;
      });
      blobs.set(desc.digest, running);
    }
    return running;
  };

  const copyManifest = (m: FetchedManifest, root: boolean): Promise<void> => {
    let running = manifests.get(m.digest);
    if (running && !root) return running;
    running = (async () => {
      const parsed = parse(m, source.name);
      await Promise.all([...parsed.manifests.map(async (child) => copyManifest(await source.manifest(child, signal), false)), ...parsed.blobs.map(blob)]);
      await sink.putManifest(m, { root, signal });
      result.manifests++;
      if (options.referrers && source.referrers) {
        for (const referrer of await source.referrers(m.digest, signal)) {
          if (manifests.has(referrer.digest)) continue;
          await copyManifest(await source.manifest(referrer, signal), false);
          result.referrers++;
        }
      }
    })();
    manifests.set(m.digest, running);
    return running;
  };

  try {
    let root = await source.root(signal);
    if (options.platform) {
      const picked = await pickPlatform(source, root, options.platform, signal);
      if (picked === root) result.platformMismatch = await platformMismatch(source, root, options.platform, signal);
      root = picked;
    }
    Object.assign(result, { digest: root.digest, mediaType: root.mediaType, size: root.bytes.length });
    await copyManifest(root, true);
    await sink.commit();
    return result;
  } catch (err) {
    failed.abort(err);
    await Promise.allSettled([...blobs.values(), ...manifests.values()]);
    await sink.abort().catch(() => undefined);
    throw err;
  }
}

/** The image of `root` (an index) for `platform`; `root` itself when it is an image. @throws ClientError NOT_FOUND */
export async function pickPlatform(source: ImageSource, root: FetchedManifest, platform: Platform, signal?: AbortSignal): Promise<FetchedManifest> {
  const parsed = parse(root, source.name);
  if (parsed.kind !== 'index') return root;
  const child = parsed.manifests.find((d) => platformMatches(d.platform, platform));
  if (!child) {
    const have = parsed.manifests.map((d) => formatPlatform(d.platform)).filter((p) => p !== 'unknown');
    throw new ClientError('NOT_FOUND', `${source.name} has no image for platform ${formatPlatform(platform)} (it has: ${have.join(', ') || 'none'})`);
  }
  return source.manifest(child, signal);
}

/**
 * The platform a single image's config names (`os`, `architecture`, `variant`), when it is not
 * `wanted`; undefined when it matches or the config names none (an artifact).
 */
async function platformMismatch(source: ImageSource, image: FetchedManifest, wanted: Platform, signal?: AbortSignal): Promise<CopyResult['platformMismatch']> {
  const config = parse(image, source.name).blobs[0];
  if (!config || (config.mediaType !== OCI_CONFIG && config.mediaType !== DOCKER_CONFIG) || config.size > MAX_CONFIG_BYTES) return undefined;
  const bytes = await readBody(await source.opener(config)(0, config.size, signal), MAX_CONFIG_BYTES);
  let actual: Record<string, unknown>;
  try {
    actual = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (formatPlatform(actual) === 'unknown' || platformMatches(actual, wanted)) return undefined;
  return { wanted: formatPlatform(wanted), actual: formatPlatform(actual) };
}

/** Parses a manifest for its references. @throws ClientError INVALID_IMAGE */
export function parse(m: FetchedManifest, where: string): ParsedManifest {
  try {
    return parseManifest(m.bytes, m.mediaType);
  } catch (err) {
    throw new ClientError('INVALID_IMAGE', `${where}: manifest ${m.digest} is not valid: ${(err as Error).message}`, { cause: err instanceof RegistryError ? err : undefined });
  }
}
