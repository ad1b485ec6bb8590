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
 *   are the tarball's layer tars as they are, `application/vnd.docker.image.rootfs.diff.tar`
 *   (uncompressed; docker and containerd pull it and detect the compression themselves) or
 *   `...tar.gzip` when a layer is already gzip-compressed.
 *
 * A tarball's entries come in any order (`docker save` writes `manifest.json` last), so every entry
 * that may be a blob streams into an upload session of its own as it passes (never held in memory,
 * never written whole anywhere else), and is remembered by its path and the digest computed on the
 * way; only the small metadata files (`manifest.json`, `index.json`, `oci-layout`) are read into
 * memory, up to {@link MAX_METADATA_BYTES}. At the end, for each manifest (an index's children
 * first), the sessions of its config and layers are committed as blobs of the repository, as a push
 * commits them, and the manifest is pushed, the tag last. The sessions nothing needs (manifests' own
 * bytes, entries no manifest names) are then cancelled.
 *
 * The import never removes a blob link or a manifest: another push or import into the repository
 * may rely on the same digests at the same time, and only garbage collection can tell. When it fails,
 * it cancels its own upload sessions and nothing else. A failure before the commits (nearly every
 * failure: a bad tarball, a missing file, an aborted upload) leaves nothing in the repository; a
 * failure after them (a blob vanished, a storage error) leaves the blob links it committed, and for
 * an image index the child manifests it pushed, with no tag: what an interrupted `docker push`
 * leaves, invisible to pulls by tag and collected by garbage collection.
 */
import { posix } from 'node:path';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { digestBytes, digestOf, newHasher, parseDigest, type Algorithm, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from '../oci/manifest.js';
import { DOCKER_MANIFEST, OCI_INDEX } from '../oci/media-types.js';
import type { RepositoryName, Tag } from '../oci/reference.js';
import { isNotFound } from '../storage/driver.js';
import type { ManifestReference } from './manifests.js';
import type { Registry } from './registry.js';
import { isRemovedByGc } from './gc-guard.js';

/** Largest metadata file (`manifest.json`, `index.json`, `oci-layout`) read into memory, in bytes. */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;
/** Most tarball entries streamed into upload sessions by one import. */
export const MAX_BLOB_ENTRIES = 10_000;
/** How many symbolic or hard links are followed from one path. */
const MAX_LINK_HOPS = 16;

/** Docker's image config media type (Image Manifest V2 Schema 2). */
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** The OCI image config media type (image-spec "Image Configuration"). */
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** Config media types whose blob must be a JSON object: an image runtime reads it. */
const IMAGE_CONFIGS: ReadonlySet<string> = new Set([OCI_CONFIG, DOCKER_CONFIG]);
/** Docker's uncompressed layer media type (Image Manifest V2 Schema 2, `MediaTypeUncompressedLayer` in Distribution). */
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
/** Docker's gzip-compressed layer media type. */
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** The annotation OCI layouts name an image's tag with. */
const REF_NAME = 'org.opencontainers.image.ref.name';

const METADATA = new Set(['manifest.json', 'index.json', 'oci-layout']);
/** Entries of the old `docker save` format that no manifest needs: the v1 image JSON, its VERSION, and `repositories`. */
const IGNORED = /^(?:[^/]+\/(?:json|VERSION)|repositories)$/;
const OCI_BLOB = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/;

/** One entry of a tar stream: its header, and its bytes as an async iterable. */
type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

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

/** A tarball entry held in an upload session of the import. */
interface StoredEntry {
  digest: Digest;
  size: number;
  /** the entry's first bytes start a gzip stream */
  gzip: boolean;
}

/** The old `docker save` format's `manifest.json`: one object per image. */
interface DockerSaveImage {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

/** Hashes and counts the bytes that pass, and keeps the first two, unchanged. */
class DigestingStream extends Transform {
  readonly #hash;
  #size = 0;
  #head = Buffer.alloc(0);

  constructor(readonly algorithm: Algorithm) {
    super();
    this.#hash = newHasher(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (this.#head.length < 2) this.#head = Buffer.concat([this.#head, chunk.subarray(0, 2)]);
    cb(null, chunk);
  }

  /** The digest, byte count and compression of everything that passed; call once, after the end. */
  result(): StoredEntry {
    return { digest: digestOf(this.algorithm, this.#hash), size: this.#size, gzip: this.#head[0] === 0x1f && this.#head[1] === 0x8b };
  }
}

/**
 * One import. {@link ImageImport.read} holds the tarball's entries in upload sessions,
 * {@link ImageImport.finish} pushes the image; both cancel the import's upload sessions when they
 * end, and {@link ImageImport.abandon} cancels them for a read whose request failed afterwards.
 */
export class ImageImport {
  readonly #entries = new Map<string, StoredEntry>();
  readonly #links = new Map<string, string>();
  readonly #metadata = new Map<string, Buffer>();
  /** the upload session holding each digest's bytes, until it is committed or cancelled */
  readonly #sessions = new Map<Digest, string>();
  /** digests this import committed as blobs of the repository */
  readonly #committed = new Set<Digest>();
  /** manifests this import pushed */
  readonly #pushed = new Set<Digest>();

  /** set when a gzip-compressed tarball expanded past `maxBytes` */
  #expandedTooLarge: RegistryError | undefined;

  /**
   * @param name the repository the image goes to
   * @param maxBytes the most bytes a gzip-compressed tarball may expand to
   * @param signal aborts the import (its reason is thrown), e.g. when the upload exceeded the size limit
   */
  constructor(
    private readonly registry: Registry,
    readonly name: RepositoryName,
    private readonly maxBytes: number,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Reads the whole tarball (an uncompressed tar stream), holding blob entries in upload sessions and
   * keeping metadata; on failure its upload sessions are cancelled.
   * @throws RegistryError BLOB_UPLOAD_INVALID (not a tar, too many files, metadata too large) |
   *   DIGEST_INVALID (a `blobs/<alg>/<hex>` entry does not hash to its name) | the signal's reason
   */
  async read(tarball: Readable): Promise<void> {
    try {
      await this.readEntries(tarball);
    } catch (err) {
      tarball.resume();
      await this.abandon();
      throw err;
    }
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
    for (const id of this.#sessions.values()) await this.registry.uploads.cancel(this.name, id).catch(() => undefined);
    this.#sessions.clear();
  }

  private async readEntries(tarball: Readable): Promise<void> {
    const extract = tar.extract();
    let malformed: Error | undefined; // the tar parser's own complaint, as opposed to a storage failure
    extract.on('error', (err: Error) => (malformed ??= err));
    const input = await this.gunzipped(tarball);
    input.on('error', (err) => extract.destroy(err));
    input.pipe(extract);
    let blobEntries = 0;
    try {
      for await (const entry of extract) {
        this.signal?.throwIfAborted();
        const path = normalize(entry.header.name);
        const type = entry.header.type ?? 'file';
        if (type === 'symlink' || type === 'link') {
          const target = entry.header.linkname ?? '';
          this.#links.set(path, normalize(type === 'symlink' ? posix.join(posix.dirname(path), target) : target));
          await drain(entry);
        } else if ((type !== 'file' && type !== 'contiguous-file') || IGNORED.test(path)) {
          await drain(entry);
        } else if (METADATA.has(path)) {
          this.#metadata.set(path, await readSmall(entry, path));
        } else {
          if (++blobEntries > MAX_BLOB_ENTRIES) throw invalidTarball(`the tarball holds more than ${MAX_BLOB_ENTRIES} files`);
          this.#entries.set(path, await this.store(path, entry));
        }
      }
    } catch (err) {
      this.signal?.throwIfAborted();
      if (this.#expandedTooLarge) throw this.#expandedTooLarge;
      if (malformed && !(err instanceof RegistryError)) throw invalidTarball(`cannot read the tarball: ${malformed.message}`, err);
      throw err;
    }
    this.signal?.throwIfAborted();
  }

  /**
   * The tar stream: `tarball` itself, or its decompressed bytes when it starts with gzip's magic
   * bytes (`docker save | gzip`, which `docker load` reads too), cut off past `maxBytes` so that a
   * small compressed upload cannot expand without bound.
   */
  private async gunzipped(tarball: Readable): Promise<Readable> {
    const { head, stream } = await peek(tarball, 2);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return stream;
    const gunzip = createGunzip();
    stream.on('error', (err) => gunzip.destroy(err));
    let expanded = 0;
    const limit = this.maxBytes;
    const counted = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        expanded += chunk.length;
        if (expanded <= limit) return cb(null, chunk);
        this.#expandedTooLarge = new RegistryError('SIZE_INVALID', {
          status: 413,
          message: `the decompressed tarball is larger than ${limit} bytes (admin.import.maxbytes)`,
          detail: { limit },
        });
        cb(this.#expandedTooLarge);
      },
    });
    gunzip.on('error', (err) => counted.destroy(err));
    return stream.pipe(gunzip).pipe(counted);
  }

  /**
   * Streams one entry into an upload session of its own, which is kept (not committed) when it is
   * the first to hold these bytes, and cancelled otherwise.
   */
  private async store(path: string, entry: TarEntry): Promise<StoredEntry> {
    const oci = OCI_BLOB.exec(path);
    const digesting = new DigestingStream((oci?.[1] as Algorithm | undefined) ?? 'sha256');
    const { uploads } = this.registry;
    const session = await uploads.create(this.name);
    let kept = false;
    try {
      await uploads.append(this.name, session.id, pipeline(Readable.from(entry), digesting, () => undefined), undefined, this.signal);
      const stored = digesting.result();
      if (oci && stored.digest !== `${oci[1]}:${oci[2]}`) {
        throw new RegistryError('DIGEST_INVALID', {
          message: `the tarball's ${path} hashes to ${stored.digest}, not to its name`,
          detail: { path, actual: stored.digest },
        });
      }
      if (!this.#sessions.has(stored.digest)) {
        this.#sessions.set(stored.digest, session.id);
        kept = true;
      }
      return stored;
    } finally {
      if (!kept) await uploads.cancel(this.name, session.id).catch(() => undefined);
    }
  }

  /**
   * Commits the upload session holding blob `digest` as a blob of the repository, once; a digest the
   * tarball does not hold is left to the manifest push, which finds it in the repository or refuses it.
   */
  private async commit(digest: Digest): Promise<void> {
    const session = this.#sessions.get(digest);
    if (session === undefined || this.#committed.has(digest)) return;
    await this.registry.uploads.commit(this.name, session, parseDigest(digest)).catch((err: unknown) => {
      throw isCode(err, 'BLOB_UPLOAD_UNKNOWN') || isRemovedByGc(err) ? this.vanished(digest, isRemovedByGc(err)) : err;
    });
    this.#sessions.delete(digest);
    this.#committed.add(digest);
  }

  /** The bytes of the entry `entry` (a manifest or a config), at most {@link MAX_MANIFEST_BYTES}. @throws RegistryError MANIFEST_INVALID */
  private async content(entry: StoredEntry, what: string): Promise<Buffer> {
    if (entry.size > MAX_MANIFEST_BYTES) {
      throw new RegistryError('MANIFEST_INVALID', { message: `${what} is larger than ${MAX_MANIFEST_BYTES} bytes`, detail: { digest: entry.digest } });
    }
    const session = this.#sessions.get(entry.digest);
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
    const index = this.#metadata.get('index.json');
    if (index) return this.pushOciLayout(index, tag);
    const manifest = this.#metadata.get('manifest.json');
    if (manifest) return this.pushDockerSave(manifest, tag);
    throw new RegistryError('MANIFEST_INVALID', {
      message: 'the tarball holds neither index.json (an OCI image layout) nor manifest.json (docker save): upload the output of docker save or of an OCI layout',
      detail: { files: [...this.#entries.keys()].slice(0, 20) },
    });
  }

  private async pushOciLayout(indexBytes: Buffer, tag: Tag): Promise<ImportedImage> {
    const manifests = parseManifest(indexBytes, OCI_INDEX).manifests;
    if (manifests.length !== 1) {
      throw new RegistryError('MANIFEST_INVALID', {
        message: `index.json lists ${manifests.length} images; import a layout of exactly one image (an image index counts as one)`,
        detail: { images: manifests.map((m) => m.annotations?.[REF_NAME] ?? m.digest) },
      });
    }
    const digest = await this.pushManifest(manifests[0]!, tag);
    return { repository: this.name, tag, digest, mediaType: manifests[0]!.mediaType, format: 'oci-layout' };
  }

  /** Pushes the manifest `descriptor` names (an index's children first), by digest or under `tag`. */
  private async pushManifest(descriptor: Descriptor, tag?: Tag): Promise<Digest> {
    const entry = this.#entries.get(ociBlobPath(descriptor.digest));
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
    const configEntry = config && IMAGE_CONFIGS.has(config.mediaType) ? this.#entries.get(ociBlobPath(config.digest)) : undefined;
    if (configEntry) await this.requireJsonObject(configEntry, `the config ${config!.digest} of manifest ${descriptor.digest}`);
    for (const blob of parsed.blobs) await this.commit(blob.digest);
    return this.put(tag ? { tag } : { digest: parseDigest(entry.digest) }, entry.digest, body, parsed.mediaType);
  }

  private async pushDockerSave(manifestBytes: Buffer, tag: Tag): Promise<ImportedImage> {
    const images = parseJson(manifestBytes, 'manifest.json');
    if (!Array.isArray(images) || images.length !== 1) {
      const count = Array.isArray(images) ? images.length : 0;
      throw new RegistryError('MANIFEST_INVALID', {
        message: `manifest.json describes ${count} images; import the docker save of exactly one image`,
        detail: { images: count },
      });
    }
    const image = images[0] as DockerSaveImage;
    if (typeof image.Config !== 'string' || !Array.isArray(image.Layers) || !image.Layers.every((l) => typeof l === 'string')) {
      throw new RegistryError('MANIFEST_INVALID', { message: 'manifest.json needs "Config" (a path) and "Layers" (an array of paths)', detail: { file: 'manifest.json' } });
    }
    const config = this.resolve(image.Config);
    const layers = (image.Layers as string[]).map((l) => this.resolve(l));
    await this.requireJsonObject(config, `the config ${image.Config.slice(0, 200)} that manifest.json names`);
    const manifest = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: config.size, digest: config.digest },
      layers: layers.map((l) => ({ mediaType: l.gzip ? DOCKER_LAYER_GZIP : DOCKER_LAYER_TAR, size: l.size, digest: l.digest })),
    };
    for (const blob of [config, ...layers]) await this.commit(blob.digest);
    const body = Buffer.from(JSON.stringify(manifest, null, 3));
    const digest = await this.put({ tag }, digestBytes(body), body, DOCKER_MANIFEST);
    return { repository: this.name, tag, digest, mediaType: DOCKER_MANIFEST, format: 'docker-save' };
  }

  /** The stored entry at archive path `path`, following links. @throws RegistryError MANIFEST_BLOB_UNKNOWN */
  private resolve(path: string): StoredEntry {
    let current = normalize(path);
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      const entry = this.#entries.get(current);
      if (entry) return entry;
      const target = this.#links.get(current);
      if (target === undefined) break;
      current = target;
    }
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
      message: `manifest.json names ${path.slice(0, 200)}, which the tarball does not hold`,
      detail: { path: path.slice(0, 200) },
    });
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

/**
 * Reads the first `n` bytes of `source` (fewer when it is shorter).
 * @returns those bytes, and a stream of all the bytes (the first ones included) that pulls the rest from `source` on demand
 */
async function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n && !ended) {
    const next = await chunks.next();
    if (next.done) ended = true;
    else {
      first.push(next.value);
      length += next.value.length;
    }
  }
  const head = Buffer.concat(first);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (let next = ended ? undefined : await chunks.next(); next && !next.done; next = await chunks.next()) yield next.value;
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** A tar path without a leading `./` or `/` and without a trailing `/`. */
function normalize(path: string): string {
  return posix.normalize(path).replace(/^(?:\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** The path of blob `d` inside an OCI image layout. */
function ociBlobPath(d: Digest): string {
  return `blobs/${d.replace(':', '/')}`;
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const chunk of entry) void chunk;
}

async function readSmall(entry: TarEntry, path: string): Promise<Buffer> {
  if ((entry.header.size ?? 0) > MAX_METADATA_BYTES) throw invalidTarball(`${path} is larger than ${MAX_METADATA_BYTES} bytes`);
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RegistryError('MANIFEST_INVALID', { message: `the tarball's ${file} is not valid JSON: ${(err as Error).message}`, detail: { file } });
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

function invalidTarball(message: string, cause?: unknown): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', { message, detail: { reason: message }, cause });
}
