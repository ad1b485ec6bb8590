/**
 * The manifest store (Distribution Spec v1.1 "Pushing Manifests", "Pulling manifests",
 * "Deleting Manifests"). A manifest's bytes are stored once in the shared blob store and served
 * byte for byte; the repository keeps a revision link with the media type it was pushed with, and
 * tags that point at revisions.
 */
import { parseDigest, type Digest, type ParsedDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { isTag, type RepositoryName, type Tag } from '../oci/reference.js';
import { type StorageDriver } from '../storage/driver.js';
import { isNotFound } from '../storage/driver-errors.js';
import * as layout from '../storage/layout.js';
import type { BlobStore } from './blobs.js';
import { ManifestCache } from './manifest-cache.js';
import { keepManifest, pushManifest, type PushContext, type RevisionLink } from './manifest-push.js';
import { ManifestReferences } from './manifest-references.js';
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

/** What a tag object holds: the manifest digest and when the tag was pushed (ISO 8601). */
export interface TagLink {
  digest: Digest;
  pushedAt: string;
  /** a pull-through cache's tag: when the upstream last confirmed that the tag names `digest` (ISO 8601) */
  checkedAt?: string;
  /** the media type the manifest was pushed with (tags pushed before it was recorded have none) */
  mediaType?: string;
}

/** Stores, reads and deletes manifests and tags (the push itself: manifest-push.ts). */
export class ManifestStore {
  readonly #references: ManifestReferences;
  readonly #push: PushContext;

  constructor(
    private readonly driver: StorageDriver,
    blobs: BlobStore,
    private readonly referrers: ReferrersIndex,
    now: () => Date = () => new Date(),
    /** manifest bytes by digest; existence is always read from storage (see {@link ManifestCache}) */
    private readonly cache: ManifestCache = new ManifestCache(),
  ) {
    this.#references = new ManifestReferences(driver, blobs);
    this.#push = { driver, blobs, referrers, references: this.#references, cache, now, readTag: (name, tag) => this.readTag(name, tag) };
  }

  /**
   * Validates and stores a manifest, then points the tag at it when the reference is a tag (see manifest-push.ts).
   * @param contentType the request's media type (no parameters), or undefined
   * @throws RegistryError MANIFEST_INVALID | DIGEST_INVALID (body does not match a digest reference) | MANIFEST_BLOB_UNKNOWN
   *   (also when a concurrent garbage collection removed what the manifest references: the push is then undone)
   */
  put(name: RepositoryName, reference: ManifestReference, body: Buffer, contentType: string | undefined): Promise<PushedManifest> {
    return pushManifest(this.#push, name, reference, body, contentType);
  }

  /**
   * Stores a manifest as a pull-through cache received it from its upstream: the exact bytes and a
   * revision with the upstream's media type, its references not required (see manifest-push.ts).
   * @param digest the digest of `body`, verified by the caller
   */
  keep(name: RepositoryName, digest: Digest, body: Buffer, mediaType: string): Promise<void> {
    return keepManifest(this.#push, name, digest, body, mediaType);
  }

  /** Writes tag `tag` of repository `name` as `link` (a pull-through cache's tag: see {@link keep}). */
  async writeTag(name: RepositoryName, tag: Tag, link: TagLink): Promise<void> {
    await this.driver.putContent(layout.tag(name, tag), JSON.stringify(link));
  }

  /**
   * The manifest a tag or digest names in repository `name`.
   * @param options `keep: false` for a walk over a repository's manifests (the admin API's sort of a
   *   large repository): its bytes are read, not cached, so the walk does not evict the pulls' manifests
   *   nor fill the cache's budget for them
   * @throws RegistryError MANIFEST_UNKNOWN
   */
  async get(name: RepositoryName, reference: ManifestReference, options: { keep?: boolean } = {}): Promise<StoredManifest> {
    const tag = 'tag' in reference ? await this.resolveTag(name, reference.tag) : undefined;
    const digest = 'digest' in reference ? reference.digest.digest : tag!.digest;
    // By tag, the tag says the manifest is in the repository: a push writes the revision before the tag
    // (and again when a delete raced it), a delete removes the tags before the revision, and a
    // collection keeps every tagged manifest. So a tag that names its media type, with the bytes
    // cached, is the whole answer: one read of storage.
    const known = tag?.mediaType !== undefined ? this.cache.get(digest) : undefined;
    if (known) return { digest, mediaType: tag!.mediaType!, body: known };
    try {
      // By digest, the revision link is read on every request: only it says the manifest is (still) in the repository.
      const cached = this.cache.get(digest);
      const [link, body] = await Promise.all([
        this.driver.getContent(layout.manifestRevision(name, digest)),
        cached ?? this.driver.getContent(layout.blobData(digest)),
      ]);
      if (!cached && options.keep !== false) this.cache.set(digest, body);
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
  exists(name: RepositoryName, digest: Digest): Promise<boolean> {
    return this.#references.exists(name, digest);
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
