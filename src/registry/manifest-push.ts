/**
 * Manifest pushes (Distribution Spec v1.1 "Pushing Manifests"): the bytes stored once in the shared
 * blob store, a revision link in the repository with the media type it was pushed with, the tag, all
 * under the garbage collection protocol (src/gc/protocol.ts), and undone when a collection removed
 * what the manifest references meanwhile.
 *
 * Storage round trips, in order (each line's requests run at once; on S3 a round trip is a request to
 * the store): the tag's previous target, every reference (two stats per blob), whether the bytes are
 * stored, the revision's age; the bytes when they are not stored; the revision when it is missing or
 * older than a quarter of `gc.grace`; the tag unless it already holds this push (see
 * {@link TAG_REWRITE_MS}); the revision checked again (a racing DELETE) with the lease (the read before
 * the push is the process's last: lease-reads.ts). With two blobs: a new manifest 12 requests in 5
 * round trips; a tag moved to a stored recent manifest 10 in 3, one PUT; the same manifest pushed
 * again by its tag 8 in 2, no write (concurrent pushes share reads).
 *
 * Why each skipped write is safe across replicas:
 * - the revision (it exists, written less than `gc.grace`/4 ago, and the body names its media type, so the
 *   stored link names the same): a collection counts a revision younger
 *   than the grace period as a root (mark.ts), so it stays one for at least 3/4 of the grace period, the
 *   rule blob HEADs already follow for blob links (blobs.ts); a tag keeps it beyond that.
 * - the tag (it names this digest and media type, written less than {@link TAG_REWRITE_MS} ago, the
 *   revision present): the stored state is what the write would store but for `pushedAt`, which then
 *   says when the tag was first pushed at this digest, at most that long before this push. A concurrent
 *   move or delete of the tag is ordered after this push as it would be after a write that landed
 *   first; a concurrent manifest DELETE removes the tag it found, as for a push that returned before it.
 *   Nothing written, nothing to recheck or undo; the lease is still read after the checks.
 */
import { digestBytes, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import type { BlobStore } from './blobs.js';
import { removedDetail } from './gc-guard.js';
import type { ManifestCache } from './manifest-cache.js';
import { distinct, type ManifestReferences } from './manifest-references.js';
import type { ManifestReference, PushedManifest, TagLink } from './manifests.js';
import type { ReferrersIndex } from './referrers.js';

/**
 * How long after a tag was written (its `pushedAt`, ms) a push of the same digest and media type by
 * that tag leaves it as it is instead of writing it again (retention, the admin index and the page see
 * a `pushedAt` at most this old; a burst of CI pushes of an unchanged `latest` costs no write).
 */
export const TAG_REWRITE_MS = 60_000;

/** What a revision link holds. */
export interface RevisionLink {
  mediaType: string;
}

/** What a push needs of the manifest store. */
export interface PushContext {
  driver: StorageDriver;
  blobs: BlobStore;
  referrers: ReferrersIndex;
  references: ManifestReferences;
  cache: ManifestCache;
  now: () => Date;
  /** the tag's link, or undefined when there is no such tag */
  readTag(name: RepositoryName, tag: Tag): Promise<TagLink | undefined>;
}

/**
 * Validates and stores a manifest, then points the tag at it when the reference is a tag.
 * @param contentType the request's media type (no parameters), or undefined
 * @throws RegistryError MANIFEST_INVALID | DIGEST_INVALID (body does not match a digest reference) | MANIFEST_BLOB_UNKNOWN
 *   (also when a concurrent garbage collection removed what the manifest references: the push is then undone)
 */
export async function pushManifest(
  ctx: PushContext,
  name: RepositoryName,
  reference: ManifestReference,
  body: Buffer,
  contentType: string | undefined,
): Promise<PushedManifest> {
  const { driver, references } = ctx;
  const parsed = parseManifest(body, contentType);
  const digest = digestBytes(body, 'digest' in reference ? reference.digest.algorithm : 'sha256');
  if ('digest' in reference && digest !== reference.digest.digest) {
    throw new RegistryError('DIGEST_INVALID', {
      message: `the manifest's digest is ${digest}, not ${reference.digest.digest} as the URL says`,
      detail: { expected: reference.digest.digest, actual: digest },
    });
  }
  const blobs = distinct(parsed.blobs);
  const children = distinct(parsed.manifests);
  const watch = await ctx.blobs.gcGuard.begin();
  const revisionPath = layout.manifestRevision(name, digest);
  // the tag's target before this PUT (put back if the PUT has to be undone), the references, whether the bytes are stored, the revision's age: at once
  const [previous, , storedSize, revision] = await Promise.all([
    'tag' in reference ? ctx.readTag(name, reference.tag) : undefined,
    references.require(name, blobs, children),
    ctx.blobs.statStored(digest),
    statIfExists(driver, revisionPath),
  ]);
  if (storedSize === undefined) await driver.putContent(layout.blobData(digest), body);
  const link = JSON.stringify({ mediaType: parsed.mediaType } satisfies RevisionLink);
  // a stored revision names the media type of the push that wrote it: the same as this one's when the body says it
  const wroteRevision = revision === undefined || parsed.mediaTypeInBody !== true || ctx.blobs.needsRefresh(revision.modTime.getTime());
  if (wroteRevision) await driver.putContent(revisionPath, link);
  if (parsed.subject) {
    const descriptor: Descriptor = { mediaType: parsed.mediaType, digest, size: body.length };
    if (parsed.artifactType) descriptor.artifactType = parsed.artifactType;
    if (parsed.annotations) descriptor.annotations = parsed.annotations;
    await ctx.referrers.add(name, parsed.subject.digest, descriptor);
  }
  let written: TagLink | undefined;
  let recheck: Promise<boolean> | undefined;
  let rewroteRevision = false;
  if ('tag' in reference && !holdsPush(previous, digest, parsed.mediaType, revision !== undefined, ctx.now())) {
    written = { digest, pushedAt: ctx.now().toISOString(), mediaType: parsed.mediaType };
    await driver.putContent(layout.tag(name, reference.tag), JSON.stringify(written));
    // A DELETE of this digest may have run between the revision write (or check) and the tag write,
    // missing the new tag: write the revision again, so a tag that was pushed successfully never dangles. (A
    // delete that removes the revision after this check lists the tags after it too, and removes this tag.)
    // Run with the garbage collection's lease read, which then follows a write it made.
    recheck = references.exists(name, digest).then(async (there) => {
      if (!there) await driver.putContent(revisionPath, link);
      rewroteRevision = !there;
      return !there;
    });
  }
  const missing: Digest[] = [];
  const kept = await watch.settle({
    digests: [digest, ...blobs.map((d) => d.digest), ...children.map((d) => d.digest)],
    intact: async () => {
      missing.push(...(await references.missing(name, digest, blobs, children)));
      return missing.length === 0;
    },
    undo: () => undoPush(ctx, name, reference, digest, parsed.subject?.digest, { written, previous }, wroteRevision || rewroteRevision),
    ...(recheck ? { pending: recheck } : {}),
  });
  if (!kept) {
    const byGc = await ctx.blobs.gcGuard.removedByGc(missing);
    const cause = byGc ? 'a garbage collection removed' : `a client deleted (from repository ${name})`;
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
      message: `${cause} ${missing.join(', ')} while the manifest was pushed: push the missing content again, then the manifest`,
      detail: { ...removedDetail(missing[0]!, byGc, 'push the missing content again, then the manifest'), missing },
    });
  }
  ctx.cache.set(digest, body);
  return parsed.subject ? { digest, subject: parsed.subject.digest } : { digest };
}

/**
 * Removes what a manifest push wrote: its revision (when `revisionWritten`) and referrer entry, and its tag write. The tag is
 * touched only while it still holds what this push wrote (`tag.written`: a later push of the tag wins);
 * it is then put back to `tag.previous`, the manifest it pointed at before, when that manifest is still
 * in the repository, else deleted. So an undone push never leaves a good image untagged for the next
 * collection to delete.
 */
async function undoPush(
  ctx: PushContext,
  name: RepositoryName,
  reference: ManifestReference,
  digest: Digest,
  subject: Digest | undefined,
  tag: { written: TagLink | undefined; previous: TagLink | undefined },
  revisionWritten: boolean,
): Promise<void> {
  const { driver } = ctx;
  if ('tag' in reference && tag.written) {
    const current = await ctx.readTag(name, reference.tag);
    if (current?.digest === tag.written.digest && current.pushedAt === tag.written.pushedAt) {
      const { previous } = tag;
      const restorable = previous !== undefined && previous.digest !== digest && (await ctx.references.stored(name, previous.digest));
      if (restorable) await driver.putContent(layout.tag(name, reference.tag), JSON.stringify(previous));
      else await driver.delete(layout.tag(name, reference.tag));
    }
  }
  if (revisionWritten) await driver.delete(layout.manifestRevision(name, digest));
  if (subject) await ctx.referrers.remove(name, subject, digest);
}

/**
 * True when tag link `current` already holds what a push of `digest` with `mediaType` would write, written
 * less than {@link TAG_REWRITE_MS} before `now`, and the revision is present: the push need not write the tag.
 */
export function holdsPush(current: TagLink | undefined, digest: Digest, mediaType: string, revisionPresent: boolean, now: Date): boolean {
  if (!current || !revisionPresent || current.digest !== digest || current.mediaType !== mediaType) return false;
  const age = now.getTime() - Date.parse(current.pushedAt);
  return age >= 0 && age < TAG_REWRITE_MS;
}

/**
 * Stores a manifest as a pull-through cache received it from its upstream: the exact bytes under
 * their digest, and a revision in repository `name` with the upstream's media type. Unlike
 * {@link pushManifest}, what it references need not be here (an index's children and an image's layers
 * arrive when they are pulled). Runs under the garbage collection protocol: when a concurrent run
 * removed the bytes meanwhile, they are written again.
 * @param digest the digest of `body`, verified by the caller
 */
export async function keepManifest(ctx: PushContext, name: RepositoryName, digest: Digest, body: Buffer, mediaType: string): Promise<void> {
  const link = JSON.stringify({ mediaType } satisfies RevisionLink);
  for (let attempt = 0; ; attempt++) {
    const watch = await ctx.blobs.gcGuard.begin();
    if ((await ctx.blobs.statStored(digest)) === undefined) await ctx.driver.putContent(layout.blobData(digest), body);
    await ctx.driver.putContent(layout.manifestRevision(name, digest), link);
    const kept = await watch.settle({ digests: [digest], intact: () => ctx.references.stored(name, digest) });
    if (kept || attempt > 0) break;
  }
  ctx.cache.set(digest, body);
}
