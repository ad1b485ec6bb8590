/**
 * The manifest store (Distribution Spec v1.1 "Pushing Manifests", "Pulling manifests",
 * "Deleting Manifests"). A manifest's bytes are stored once in the shared blob store and served
 * byte for byte; the repository keeps a revision link with the media type it was pushed with, and
 * tags that point at revisions.
 */
import { digestBytes, parseDigest, type Digest, type ParsedDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { isTag, type RepositoryName, type Tag } from '../oci/reference.js';
import { isNotFound, statIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import type { BlobStore } from './blobs.js';
import { removedDetail } from './gc-guard.js';
import { mapInBatches } from './limit.js';
import { ManifestCache } from './manifest-cache.js';
import type { ReferrersIndex } from './referrers.js';

/** A manifest reference from a URL: a tag or a digest, validated. */
export type ManifestReference = { tag: Tag } | { digest: ParsedDigest };

/** A stored manifest: its digest, the media type it was pushed with, and its bytes. */
export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  body: Buffer;
}

/** What a manifest push stored. */
export interface PushedManifest {
  digest: Digest;
  /** the `subject` digest, when the manifest has one (answered as `OCI-Subject`) */
  subject?: Digest;
}

interface RevisionLink {
  mediaType: string;
}

/** What a tag object holds: the manifest digest and when the tag was pushed (ISO 8601). */
export interface TagLink {
  digest: Digest;
  pushedAt: string;
  /** a pull-through cache's tag: when the upstream last confirmed that the tag names `digest` (ISO 8601) */
  checkedAt?: string;
}

/** Stores, reads and deletes manifests and tags. */
export class ManifestStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly referrers: ReferrersIndex,
    private readonly now: () => Date = () => new Date(),
    /** manifest bytes by digest; existence is always read from storage (see {@link ManifestCache}) */
    private readonly cache: ManifestCache = new ManifestCache(),
  ) {}

  /**
   * Validates and stores a manifest, then points the tag at it when the reference is a tag.
   * @param contentType the request's media type (no parameters), or undefined
   * @throws RegistryError MANIFEST_INVALID | DIGEST_INVALID (body does not match a digest reference) | MANIFEST_BLOB_UNKNOWN
   *   (also when a concurrent garbage collection removed what the manifest references: the push is then undone)
   */
  async put(name: RepositoryName, reference: ManifestReference, body: Buffer, contentType: string | undefined): Promise<PushedManifest> {
    const parsed = parseManifest(body, contentType);
    const digest = digestBytes(body, 'digest' in reference ? reference.digest.algorithm : 'sha256');
    if ('digest' in reference && digest !== reference.digest.digest) {
      throw new RegistryError('DIGEST_INVALID', {
        message: `the manifest's digest is ${digest}, not ${reference.digest.digest} as the URL says`,
        detail: { expected: reference.digest.digest, actual: digest },
      });
    }
    // each distinct digest is checked once (a manifest may repeat a descriptor thousands of times)
    const blobs = distinct(parsed.blobs);
    const children = distinct(parsed.manifests);
    const watch = await this.blobs.gcGuard.begin();
    // the tag's target before this PUT, put back if the PUT has to be undone
    const [previous] = await Promise.all([
      'tag' in reference ? this.readTag(name, reference.tag) : undefined,
      mapInBatches(blobs, CHECK_BATCH, (d) => this.requireBlob(name, d)),
      mapInBatches(children, CHECK_BATCH, (d) => this.requireManifest(name, d)),
    ]);
    if ((await this.blobs.statStored(digest)) === undefined) await this.driver.putContent(layout.blobData(digest), body);
    const link: RevisionLink = { mediaType: parsed.mediaType };
    await this.driver.putContent(layout.manifestRevision(name, digest), JSON.stringify(link));
    if (parsed.subject) {
      const descriptor: Descriptor = { mediaType: parsed.mediaType, digest, size: body.length };
      if (parsed.artifactType) descriptor.artifactType = parsed.artifactType;
      if (parsed.annotations) descriptor.annotations = parsed.annotations;
      await this.referrers.add(name, parsed.subject.digest, descriptor);
    }
    let written: TagLink | undefined;
    if ('tag' in reference) {
      written = { digest, pushedAt: this.now().toISOString() };
      await this.driver.putContent(layout.tag(name, reference.tag), JSON.stringify(written));
      // A DELETE of this digest may have run between the revision write and the tag write, missing the
      // new tag: write the revision again, so a tag that was pushed successfully never dangles. (A
      // delete that removes the revision after this check lists the tags after it too, and removes this tag.)
      if (!(await this.exists(name, digest))) await this.driver.putContent(layout.manifestRevision(name, digest), JSON.stringify(link));
    }
    const missing: Digest[] = [];
    const kept = await watch.settle({
      digests: [digest, ...blobs.map((d) => d.digest), ...children.map((d) => d.digest)],
      intact: async () => {
        missing.push(...(await this.missingAfterGc(name, digest, blobs, children)));
        return missing.length === 0;
      },
      undo: () => this.undoPut(name, reference, digest, parsed.subject?.digest, { written, previous }),
    });
    if (!kept) {
      const byGc = await this.blobs.gcGuard.removedByGc(missing);
      const cause = byGc ? 'a garbage collection removed' : `a client deleted (from repository ${name})`;
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
        message: `${cause} ${missing.join(', ')} while the manifest was pushed: push the missing content again, then the manifest`,
        detail: { ...removedDetail(missing[0]!, byGc, 'push the missing content again, then the manifest'), missing },
      });
    }
    this.cache.set(digest, body);
    return parsed.subject ? { digest, subject: parsed.subject.digest } : { digest };
  }

  /**
   * Stores a manifest as a pull-through cache received it from its upstream: the exact bytes under
   * their digest, and a revision in repository `name` with the upstream's media type. Unlike
   * {@link put}, what it references need not be here (an index's children and an image's layers
   * arrive when they are pulled). Runs under the garbage collection protocol: when a concurrent run
   * removed the bytes meanwhile, they are written again.
   * @param digest the digest of `body`, verified by the caller
   */
  async keep(name: RepositoryName, digest: Digest, body: Buffer, mediaType: string): Promise<void> {
    const link: RevisionLink = { mediaType };
    for (let attempt = 0; ; attempt++) {
      const watch = await this.blobs.gcGuard.begin();
      if ((await this.blobs.statStored(digest)) === undefined) await this.driver.putContent(layout.blobData(digest), body);
      await this.driver.putContent(layout.manifestRevision(name, digest), JSON.stringify(link));
      const kept = await watch.settle({
        digests: [digest],
        intact: async () => (await this.exists(name, digest)) && (await this.blobs.statStored(digest)) !== undefined,
      });
      if (kept || attempt > 0) break;
    }
    this.cache.set(digest, body);
  }

  /** Writes tag `tag` of repository `name` as `link` (a pull-through cache's tag: see {@link keep}). */
  async writeTag(name: RepositoryName, tag: Tag, link: TagLink): Promise<void> {
    await this.driver.putContent(layout.tag(name, tag), JSON.stringify(link));
  }

  /**
   * The manifest a tag or digest names in repository `name`.
   * @throws RegistryError MANIFEST_UNKNOWN
   */
  async get(name: RepositoryName, reference: ManifestReference): Promise<StoredManifest> {
    const digest = 'tag' in reference ? (await this.resolveTag(name, reference.tag)).digest : reference.digest.digest;
    try {
      // The revision link is read on every request: only it says the manifest is (still) in the repository.
      const cached = this.cache.get(digest);
      const [link, body] = await Promise.all([
        this.driver.getContent(layout.manifestRevision(name, digest)),
        cached ?? this.driver.getContent(layout.blobData(digest)),
      ]);
      if (!cached) this.cache.set(digest, body);
      return { digest, mediaType: (JSON.parse(link.toString('utf8')) as RevisionLink).mediaType, body };
    } catch (err) {
      if (isNotFound(err)) throw manifestUnknown(digest);
      throw err;
    }
  }

  /**
   * The tag's link.
   * @throws RegistryError MANIFEST_UNKNOWN
   */
  async resolveTag(name: RepositoryName, tag: Tag): Promise<TagLink> {
    try {
      return JSON.parse((await this.driver.getContent(layout.tag(name, tag))).toString('utf8')) as TagLink;
    } catch (err) {
      if (isNotFound(err)) throw manifestUnknown(tag);
      throw err;
    }
  }

  /** The repository's tags in lexical order. */
  async tags(name: RepositoryName): Promise<string[]> {
    return (await this.driver.list(layout.tags(name))).filter(isTag);
  }

  /**
   * Deletes a tag (the manifest stays), or a manifest by digest with every tag that points at it
   * and its entry in its subject's referrers.
   * @throws RegistryError MANIFEST_UNKNOWN
   */
  async delete(name: RepositoryName, reference: ManifestReference): Promise<void> {
    if ('tag' in reference) {
      await this.resolveTag(name, reference.tag);
      await this.driver.delete(layout.tag(name, reference.tag));
      await this.driver.delete(layout.tagPull(name, reference.tag));
      return;
    }
    const manifest = await this.get(name, reference);
    // Tags first, so a crash part way leaves an untagged manifest, never a tag pointing nowhere; then
    // the revision; then the tags once more: a tag push racing this delete either is listed by that
    // second pass and removed, or finds the revision gone and writes it again (see put).
    await this.untag(name, manifest.digest);
    await this.driver.delete(layout.manifestRevision(name, manifest.digest));
    await this.untag(name, manifest.digest);
    this.cache.delete(manifest.digest);
    const subject = subjectOf(manifest.body);
    if (subject) await this.referrers.remove(name, subject, manifest.digest);
  }

  /** Deletes every tag of repository `name` that points at `digest`. */
  private async untag(name: RepositoryName, digest: Digest): Promise<void> {
    const tags = await this.tags(name);
    await Promise.all(
      tags.map(async (t) => {
        const link = await this.resolveTag(name, t as Tag).catch((err: unknown) => {
          if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined; // deleted since the listing
          throw err;
        });
        if (link?.digest === digest) await this.driver.delete(layout.tag(name, t as Tag));
      }),
    );
  }

  /** True when manifest `digest` is in repository `name`. */
  async exists(name: RepositoryName, digest: Digest): Promise<boolean> {
    return (await statIfExists(this.driver, layout.manifestRevision(name, digest))) !== undefined;
  }

  /** What a just-pushed manifest relies on and is gone: its own bytes or revision, a blob, a child manifest. */
  private async missingAfterGc(name: RepositoryName, digest: Digest, blobs: Descriptor[], children: Descriptor[]): Promise<Digest[]> {
    const stored = async (d: Digest) => (await this.exists(name, d)) && (await this.blobs.statStored(d)) !== undefined;
    const present = [
      await stored(digest),
      ...(await mapInBatches(blobs, CHECK_BATCH, (d) => this.blobs.servable(name, d.digest))),
      ...(await mapInBatches(children, CHECK_BATCH, (d) => stored(d.digest))),
    ];
    return [digest, ...blobs.map((d) => d.digest), ...children.map((d) => d.digest)].filter((_, i) => !present[i]);
  }

  /** The tag's link, or undefined when there is no such tag. */
  private async readTag(name: RepositoryName, tag: Tag): Promise<TagLink | undefined> {
    try {
      return await this.resolveTag(name, tag);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined;
      throw err;
    }
  }

  /**
   * Removes what a manifest push wrote: its revision and referrer entry, and its tag write. The tag is
   * touched only while it still holds what this push wrote (`tag.written`: a later push of the tag wins);
   * it is then put back to `tag.previous`, the manifest it pointed at before, when that manifest is still
   * in the repository, else deleted. So an undone push never leaves a good image untagged for the next
   * collection to delete.
   */
  private async undoPut(
    name: RepositoryName,
    reference: ManifestReference,
    digest: Digest,
    subject: Digest | undefined,
    tag: { written: TagLink | undefined; previous: TagLink | undefined },
  ): Promise<void> {
    if ('tag' in reference && tag.written) {
      const current = await this.readTag(name, reference.tag);
      if (current?.digest === tag.written.digest && current.pushedAt === tag.written.pushedAt) {
        const { previous } = tag;
        const restorable = previous !== undefined && previous.digest !== digest && (await this.exists(name, previous.digest)) && (await this.blobs.statStored(previous.digest)) !== undefined;
        if (restorable) await this.driver.putContent(layout.tag(name, reference.tag), JSON.stringify(previous));
        else await this.driver.delete(layout.tag(name, reference.tag));
      }
    }
    await this.driver.delete(layout.manifestRevision(name, digest));
    if (subject) await this.referrers.remove(name, subject, digest);
  }

  private async requireBlob(name: RepositoryName, d: Descriptor): Promise<void> {
    try {
      await this.blobs.stat(name, d.digest);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
          message: `the manifest references blob ${d.digest}, which is not in repository ${name}: push the blob first`,
          detail: { digest: d.digest },
        });
      }
      throw err;
    }
  }

  private async requireManifest(name: RepositoryName, d: Descriptor): Promise<void> {
    if (!(await this.exists(name, d.digest))) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
        message: `the index references manifest ${d.digest}, which is not in repository ${name}: push it first`,
        detail: { digest: d.digest },
      });
    }
  }
}

/** How many of a manifest's references are checked at once, between turns of the event loop (see mapInBatches). */
const CHECK_BATCH = 32;

/** The descriptors with distinct digests, the first of each kept. */
function distinct(descriptors: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<Digest>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}

function subjectOf(body: Buffer): Digest | undefined {
  try {
    const digest = (JSON.parse(body.toString('utf8')) as { subject?: { digest?: string } }).subject?.digest;
    return digest ? parseDigest(digest).digest : undefined;
  } catch {
    return undefined;
  }
}

function manifestUnknown(reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', { detail: { reference } });
}
