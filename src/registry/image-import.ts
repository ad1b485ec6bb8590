/**
 * Imports an image from a tarball stream, as `POST /admin/v1/import` receives it, into a repository
 * and tag, leaving the same tags, manifest revisions and blob links a push of that image leaves.
 * Two formats are read:
 *
 * - an OCI image layout (image-spec "Image Layout": `oci-layout`, `index.json`, `blobs/<alg>/<hex>`),
 *   which `skopeo copy ... oci-archive:` and `docker save` from Docker 25 on write: the manifest
 *   `index.json` names is imported byte for byte (an image index with its children);
 * - the older `docker save` format (`manifest.json` naming `<hex>.json` configs and `<id>/layer.tar`
 *   layers, as Docker 20.10 writes): converted to a Docker Image Manifest V2 Schema 2 whose layers
 *   are the tarball's layer tars as they are (docker-save.ts, oci/docker-save.ts).
 *
 * The tarball is read whole first by {@link TarballContents} (entries come in any order: every
 * possible blob streams into an upload session as it passes, metadata is kept in memory). Then, for
 * each manifest (an index's children first), the sessions of its config and layers are committed
 * as blobs of the repository, as a push commits them, and the manifest is pushed, the tag last. The
 * sessions nothing needs (manifests' own bytes, entries no manifest names) are then cancelled.
 *
 * The import never removes a blob link or a manifest: another push or import into the repository
 * may rely on the same digests at the same time, and only garbage collection can tell. When it fails,
 * it cancels its own upload sessions and nothing else. A failure before the commits (nearly every
 * failure: a bad tarball, a missing file, an aborted upload) leaves nothing in the repository; a
 * failure after them (a blob vanished, a storage error) leaves the blob links it committed, and for
 * an image index the child manifests it pushed, with no tag: what an interrupted `docker push`
 * leaves, invisible to pulls by tag and collected by garbage collection.
 */
import type { Readable } from 'node:stream';
import { digestBytes, parseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from '../oci/manifest.js';
import { dockerSaveManifest } from '../oci/docker-save.js';
import { DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, REF_NAME_ANNOTATION } from '../oci/media-types.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { isNotFound } from '../storage/driver-errors.js';
import { readDockerSave } from './docker-save.js';
import type { ManifestReference } from './manifests.js';
import type { Registry } from './registry.js';
import { isRemovedByGc } from './gc-guard.js';
import { ociBlobPath, TarballContents, type StoredEntry } from './image-tarball.js';

/** Config media types whose blob must be a JSON object: an image runtime reads it. */
const IMAGE_CONFIGS: ReadonlySet<string> = new Set([OCI_CONFIG, DOCKER_CONFIG]);

/** The tarball formats {@link ImageImport} reads. */
export type ImportFormat = 'oci-layout' | 'docker-save';

/** What an import stored. */
export interface ImportedImage {
  repository: RepositoryName;
  tag: Tag;
  /** the digest of the tagged manifest */
  digest: Digest;
  mediaType: string;
  format: ImportFormat;
}

/**
 * One import. {@link ImageImport.read} holds the tarball's entries in upload sessions,
 * {@link ImageImport.finish} pushes the image; both cancel the import's upload sessions when they
 * end, and {@link ImageImport.abandon} cancels them for a read whose request failed afterwards.
 */
export class ImageImport {
  readonly #tarball: TarballContents;
  /** digests this import committed as blobs of the repository */
  readonly #committed = new Set<Digest>();
  /** manifests this import pushed */
  readonly #pushed = new Set<Digest>();

  /**
   * @param name the repository the image goes to
   * @param maxBytes the most bytes a gzip-compressed tarball may expand to
   * @param signal aborts the import (its reason is thrown), e.g. when the upload exceeded the size limit
   */
  constructor(
    private readonly registry: Registry,
    readonly name: RepositoryName,
    maxBytes: number,
    private readonly signal?: AbortSignal,
  ) {
    this.#tarball = new TarballContents(registry.uploads, name, maxBytes, signal);
  }

  /**
   * Reads the whole tarball (an uncompressed tar stream), holding blob entries in upload sessions and
   * keeping metadata; on failure its upload sessions are cancelled.
   * @throws RegistryError as {@link TarballContents.read}
   */
  async read(tarball: Readable): Promise<void> {
    await this.#tarball.read(tarball);
  }

  /**
   * Pushes the image read under `tag` (from `index.json` when the tarball has one, else from
   * `manifest.json`), committing the configs and layers it names, then cancels the upload sessions
   * left (whether the push succeeded or not).
   * @throws RegistryError MANIFEST_INVALID (no `index.json` or `manifest.json`, one that cannot be read,
   *   or not exactly one image) | MANIFEST_BLOB_UNKNOWN (a manifest names a blob or manifest the tarball does not hold)
   */
  async finish(tag: Tag): Promise<ImportedImage> {
    try {
      this.signal?.throwIfAborted();
      return await this.push(tag);
    } finally {
      await this.abandon();
    }
  }

  /**
   * Cancels the import's upload sessions that were not committed. Blob links and manifests are never
   * removed: another request may rely on them (see the module's documentation). Never throws.
   */
  async abandon(): Promise<void> {
    await this.#tarball.abandon();
  }

  /**
   * Commits the upload session holding blob `digest` as a blob of the repository, once; a digest the
   * tarball does not hold is left to the manifest push, which finds it in the repository or refuses it.
   */
  private async commit(digest: Digest): Promise<void> {
    const session = this.#tarball.session(digest);
    if (session === undefined || this.#committed.has(digest)) return;
    await this.registry.uploads.commit(this.name, session, parseDigest(digest)).catch((err: unknown) => {
      throw isCode(err, 'BLOB_UPLOAD_UNKNOWN') || isRemovedByGc(err) ? this.vanished(digest, isRemovedByGc(err)) : err;
    });
    this.#tarball.take(digest);
    this.#committed.add(digest);
  }

  /** The bytes of the entry `entry` (a manifest or a config), at most {@link MAX_MANIFEST_BYTES}. @throws RegistryError MANIFEST_INVALID */
  private async content(entry: StoredEntry, what: string): Promise<Buffer> {
    if (entry.size > MAX_MANIFEST_BYTES) {
      throw new RegistryError('MANIFEST_INVALID', { message: `${what} is larger than ${MAX_MANIFEST_BYTES} bytes`, detail: { digest: entry.digest } });
    }
    const session = this.#tarball.session(entry.digest);
    try {
      const stream = session === undefined ? await this.registry.blobs.open(entry.digest) : await this.registry.uploads.reader(this.name, session);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      throw isCode(err, 'BLOB_UPLOAD_UNKNOWN') || isNotFound(err) ? this.vanished(entry.digest) : err;
    }
  }

  /** The error for blob or manifest `digest`, which this import stored, gone before the import ended (`byGc`: a garbage collection removed it). */
  private vanished(digest: string, byGc = false): RegistryError {
    const cause = byGc ? 'a garbage collection that ran meanwhile removed it' : `the repository ${this.name} was deleted, or its upload session or bytes were removed meanwhile`;
    return new RegistryError('MANIFEST_BLOB_UNKNOWN', {
      message: `${digest}, which this import stored, vanished before the import ended (${cause}): retry the import`,
      detail: { digest, ...(byGc ? { removedByGc: true } : {}) },
    });
  }

  /**
   * Checks that an image config (at most {@link MAX_MANIFEST_BYTES}) is a JSON object, so that a
   * config naming the wrong file (a layer, say) is refused here rather than by every pull.
   * @throws RegistryError MANIFEST_INVALID
   */
  private async requireJsonObject(entry: StoredEntry, what: string): Promise<void> {
    const kind = jsonKind(await this.content(entry, what));
    if (kind === 'object') return;
    throw new RegistryError('MANIFEST_INVALID', {
      message: `${what} is not a JSON object (it is ${kind}): an image config must be the image's config JSON`,
      detail: { digest: entry.digest },
    });
  }

  private async push(tag: Tag): Promise<ImportedImage> {
    const index = this.#tarball.metadata.get('index.json');
    if (index) return this.pushOciLayout(index, tag);
    const manifest = this.#tarball.metadata.get('manifest.json');
    if (manifest) return this.pushDockerSave(manifest, tag);
    throw new RegistryError('MANIFEST_INVALID', {
      message: 'the tarball holds neither index.json (an OCI image layout) nor manifest.json (docker save): upload the output of docker save or of an OCI layout',
      detail: { files: [...this.#tarball.entries.keys()].slice(0, 20) },
    });
  }

  private async pushOciLayout(indexBytes: Buffer, tag: Tag): Promise<ImportedImage> {
    const manifests = parseManifest(indexBytes, OCI_INDEX).manifests;
    if (manifests.length !== 1) {
      throw new RegistryError('MANIFEST_INVALID', {
        message: `index.json lists ${manifests.length} images; import a layout of exactly one image (an image index counts as one)`,
        detail: { images: manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION] ?? m.digest) },
      });
    }
    const digest = await this.pushManifest(manifests[0]!, tag);
    return { repository: this.name, tag, digest, mediaType: manifests[0]!.mediaType, format: 'oci-layout' };
  }

  /** Pushes the manifest `descriptor` names (an index's children first), by digest or under `tag`. */
  private async pushManifest(descriptor: Descriptor, tag?: Tag): Promise<Digest> {
    const entry = this.#tarball.entries.get(ociBlobPath(descriptor.digest));
    if (!entry) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
        message: `the tarball does not hold manifest ${descriptor.digest}${descriptor.platform ? ` (platform ${JSON.stringify(descriptor.platform)})` : ''}: save a single-platform image, e.g. docker save --platform`,
        detail: { digest: descriptor.digest },
      });
    }
    const body = await this.content(entry, `manifest ${descriptor.digest}`);
    const parsed = parseManifest(body, descriptor.mediaType);
    for (const child of parsed.manifests) await this.pushManifest(child);
    const config = parsed.kind === 'image' ? parsed.blobs[0] : undefined;
    const configEntry = config && IMAGE_CONFIGS.has(config.mediaType) ? this.#tarball.entries.get(ociBlobPath(config.digest)) : undefined;
    if (configEntry) await this.requireJsonObject(configEntry, `the config ${config!.digest} of manifest ${descriptor.digest}`);
    for (const blob of parsed.blobs) await this.commit(blob.digest);
    return this.put(tag ? { tag } : { digest: parseDigest(entry.digest) }, entry.digest, body, parsed.mediaType);
  }

  private async pushDockerSave(manifestBytes: Buffer, tag: Tag): Promise<ImportedImage> {
    const image = readDockerSave(manifestBytes, this.#tarball);
    await this.requireJsonObject(image.config, `the config ${image.configPath.slice(0, 200)} that manifest.json names`);
    for (const blob of [image.config, ...image.layers]) await this.commit(blob.digest);
    const body = dockerSaveManifest(image.config, image.layers);
    const digest = await this.put({ tag }, digestBytes(body), body, DOCKER_MANIFEST);
    return { repository: this.name, tag, digest, mediaType: DOCKER_MANIFEST, format: 'docker-save' };
  }

  /**
   * Pushes a manifest whose digest is `digest`.
   * @throws RegistryError MANIFEST_BLOB_UNKNOWN saying whether a blob or manifest the import stored
   *   vanished meanwhile (retry), or the manifest names one that neither the tarball nor the repository holds
   */
  private async put(reference: ManifestReference, digest: Digest, body: Buffer, mediaType: string): Promise<Digest> {
    try {
      await this.registry.manifests.put(this.name, reference, body, mediaType);
    } catch (err) {
      if (!isCode(err, 'MANIFEST_BLOB_UNKNOWN')) throw err;
      const missing = String((err.detail as { digest?: unknown } | undefined)?.digest);
      if (missing === digest || this.#committed.has(missing as Digest) || this.#pushed.has(missing as Digest)) throw this.vanished(missing, isRemovedByGc(err));
      if (isRemovedByGc(err)) {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
          message: `manifest ${digest} names ${missing}, which a garbage collection removed from repository ${this.name} while the import ran: retry the import`,
          detail: { digest: missing, removedByGc: true },
        });
      }
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
        message: `manifest ${digest} names ${missing}, which neither the tarball nor repository ${this.name} holds: import a tarball that holds the whole image`,
        detail: { digest: missing },
      });
    }
    this.#pushed.add(digest);
    return digest;
  }
}

/** What `bytes` hold: `object`, `array`, `null`, `string`, `number`, `boolean`, or `not valid JSON`. */
function jsonKind(bytes: Buffer): string {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  } catch {
    return 'not valid JSON';
  }
}

/** True when `err` is a {@link RegistryError} with code `code`. */
function isCode(err: unknown, code: string): err is RegistryError {
  return err instanceof RegistryError && err.code === code;
}

