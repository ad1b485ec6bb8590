/**
 * Parsing and validation of pushed manifests (Distribution Spec v1.1 "Pushing Manifests";
 * Image Spec v1.1 "Image Manifest", "Image Index", "Descriptor"; Docker schema 2).
 * Pure: no I/O. The registry layer checks that referenced blobs and manifests exist.
 */
import { RegistryError } from './errors.js';
import { isDigest, parseDigest, type Digest } from './digest.js';
import {
  DOCKER_FOREIGN_LAYER,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  MANIFEST_KINDS,
  OCI_MANIFEST,
  OCI_NONDISTRIBUTABLE_PREFIX,
  type ManifestKind,
} from './media-types.js';

/** An OCI descriptor (image-spec "Descriptor"): what a manifest says about another object. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  /** bytes */
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Record<string, unknown>;
}

/** What the registry needs to know of a pushed manifest. */
export interface ParsedManifest {
  kind: ManifestKind;
  mediaType: string;
  /** true when the body itself says `mediaType`: every push of these bytes then has this media type */
  mediaTypeInBody?: boolean;
  /** Blobs that must be linked in the repository: the config and every distributable layer. */
  blobs: Descriptor[];
  /** Manifests (an index's children) that must exist in the repository. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** `artifactType`, else (for an image manifest) the config's media type: what the referrers API reports. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Maximum manifest body size in bytes (4 MiB, as Distribution and the spec's guidance). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * The most descriptors one manifest may hold: an image manifest's config and layers, or an index's
 * manifests. Each distinct one costs a check of the repository at push time; real images hold a few
 * dozen layers (overlay file systems stack at most about 125), large indexes a few hundred manifests.
 */
export const MAX_MANIFEST_DESCRIPTORS = 10_000;

/** @throws RegistryError MANIFEST_INVALID when `count` descriptors exceed {@link MAX_MANIFEST_DESCRIPTORS} */
function checkDescriptorCount(count: number, what: string): void {
  if (count <= MAX_MANIFEST_DESCRIPTORS) return;
  const message = `the manifest holds ${count} descriptors (${what}); a manifest may hold at most ${MAX_MANIFEST_DESCRIPTORS}: split the content over several manifests`;
  throw new RegistryError('MANIFEST_INVALID', { message, detail: { reason: message, descriptors: count, limit: MAX_MANIFEST_DESCRIPTORS } });
}

/**
 * Parses a manifest body pushed with `contentType`.
 * The media type is the Content-Type, else the body's `mediaType`; when both are present they must agree.
 * @param contentType the request's Content-Type without parameters, or undefined
 * @throws RegistryError MANIFEST_INVALID (bad JSON, schema 1, unknown media type, malformed descriptors)
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw invalid('manifest must be a JSON object');

  const bodyType = json.mediaType;
  if (bodyType !== undefined && typeof bodyType !== 'string') throw invalid('"mediaType" must be a string');
  const declared = contentType && contentType !== 'application/json' && contentType !== 'application/octet-stream' ? contentType : undefined;
  if (isSchema1(declared) || isSchema1(bodyType) || json.schemaVersion === 1) {
    throw invalid(
      'Docker image manifest schema 1 is deprecated and not supported: push with a current client (it converts to schema 2 or OCI)',
    );
  }
  if (declared && bodyType && declared !== bodyType) {
    throw invalid(`Content-Type "${declared}" does not match the manifest's mediaType "${bodyType}"`);
  }
  const mediaType = declared ?? bodyType ?? inferMediaType(json);
  const kind = MANIFEST_KINDS[mediaType];
  if (!kind) {
    throw invalid(`unsupported manifest media type "${mediaType}"`);
  }
  if (json.schemaVersion !== 2) throw invalid('"schemaVersion" must be 2');

  const subject = json.subject === undefined ? undefined : descriptor(json.subject, 'subject');
  const annotations = stringMap(json.annotations, 'annotations');
  const artifactType = optionalString(json.artifactType, 'artifactType');

  if (kind === 'index') {
    if (!Array.isArray(json.manifests)) throw invalid('an image index needs a "manifests" array');
    checkDescriptorCount(json.manifests.length, 'manifests');
    const manifests = json.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
    return { kind, mediaType, mediaTypeInBody: bodyType !== undefined, blobs: [], manifests, subject, artifactType, annotations };
  }

  const config = descriptor(json.config, 'config');
  if (json.layers !== undefined && !Array.isArray(json.layers)) throw invalid('"layers" must be an array');
  checkDescriptorCount(1 + ((json.layers as unknown[] | undefined)?.length ?? 0), 'the config and layers');
  const layers = ((json.layers as unknown[] | undefined) ?? []).map((l, i) => descriptor(l, `layers[${i}]`));
  if (layers.length === 0 && mediaType !== OCI_MANIFEST) throw invalid('an image manifest needs at least one layer');
  const blobs = [config, ...layers.filter((l) => !isForeign(l))];
  return { kind, mediaType, mediaTypeInBody: bodyType !== undefined, blobs, manifests: [], subject, artifactType: artifactType ?? config.mediaType, annotations };
}

function inferMediaType(json: Record<string, unknown>): string {
  if (Array.isArray(json.manifests)) return 'application/vnd.oci.image.index.v1+json';
  if (json.config !== undefined) return OCI_MANIFEST;
  throw invalid('cannot tell the manifest media type: set Content-Type or "mediaType"');
}

function isForeign(d: Descriptor): boolean {
  return (d.mediaType === DOCKER_FOREIGN_LAYER || d.mediaType.startsWith(OCI_NONDISTRIBUTABLE_PREFIX)) && (d.urls?.length ?? 0) > 0;
}

function isSchema1(type: unknown): boolean {
  return type === DOCKER_SCHEMA1 || type === DOCKER_SCHEMA1_SIGNED;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest must be a string`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  let parsed: Digest;
  try {
    parsed = parseDigest(digest).digest;
  } catch (err) {
    throw invalid(`${where}.digest: ${(err as Error).message}`);
  }
  const d: Descriptor = { mediaType, digest: parsed, size };
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string')) throw invalid(`${where}.urls must be an array of strings`);
    d.urls = value.urls as string[];
  }
  const annotations = stringMap(value.annotations, `${where}.annotations`);
  if (annotations) d.annotations = annotations;
  const artifactType = optionalString(value.artifactType, `${where}.artifactType`);
  if (artifactType) d.artifactType = artifactType;
  if (value.platform !== undefined) {
    if (!isObject(value.platform)) throw invalid(`${where}.platform must be an object`);
    d.platform = value.platform;
  }
  return d;
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalid(`${where} must be an object of strings`);
  }
  return value as Record<string, string>;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${where} must be a string`);
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', { message, detail: { reason: message } });
}

/** What a manifest references: blobs (config, layers), child manifests (an index's), and its subject. */
export interface ManifestRefs {
  blobs: Digest[];
  /**
   * per entry of `blobs`: the size its descriptor gives (bytes), or undefined when it gives none
   * usable or names URLs (a foreign or non-distributable layer, whose size no push checked), or when
   * the body has a `manifests` array (an index's push checks its children, not a `config` or `layers`
   * its body may also carry)
   */
  blobSizes?: (number | undefined)[];
  children: Digest[];
  subject?: Digest;
}

/**
 * The references of a stored manifest, read leniently (it was validated when pushed): an index's
 * `manifests[]`, an image's `config` and `layers[]`, and `subject`. Undefined when it is not JSON.
 */
export function manifestReferences(body: Buffer): ManifestRefs | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const m = json as { manifests?: unknown; config?: unknown; layers?: unknown; subject?: unknown };
  const digestOf = (v: unknown): Digest[] => {
    const d = (v as { digest?: unknown } | null)?.digest;
    return typeof d === 'string' && isDigest(d) ? [parseDigest(d).digest] : [];
  };
  const list = (v: unknown): Digest[] => (Array.isArray(v) ? v.flatMap(digestOf) : []);
  const checked = !Array.isArray(m.manifests);
  const described = (v: unknown): (number | undefined)[] => (digestOf(v).length === 0 ? [] : [checked ? describedSize(v) : undefined]);
  const subject = digestOf(m.subject)[0];
  const blobSizes = [...described(m.config), ...(Array.isArray(m.layers) ? m.layers.flatMap(described) : [])];
  return { blobs: [...digestOf(m.config), ...list(m.layers)], blobSizes, children: list(m.manifests), ...(subject ? { subject } : {}) };
}

/** The size a descriptor gives, when it is a safe non-negative integer and the descriptor names no URLs (see {@link ManifestRefs.blobSizes}). */
function describedSize(v: unknown): number | undefined {
  const { size, urls } = v as { size?: unknown; urls?: unknown };
  if (Array.isArray(urls) && urls.length > 0) return undefined;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}
