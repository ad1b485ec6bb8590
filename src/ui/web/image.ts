/**
 * What the image view reads from the registry API: the manifest as stored (OCI image manifest or
 * index, Docker schema 2 manifest or list, or an artifact), its config, its referrers.
 */

/** The Accept header of a manifest GET: every manifest media type Wharf stores. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

/** A manifest's fields the page reads (image-spec manifest.md and image-index.md). */
export interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image config's fields the page shows (image-spec config.md). */
export interface ImageConfig {
  created?: string;
  author?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  config?: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string>; ExposedPorts?: Record<string, unknown> };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

/** The config media types that are image configs (anything else is an artifact's). */
const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** Largest config the page fetches, bytes (as the admin index reads platforms). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** What a manifest is: `index` (children), `image` (an image config and layers) or `artifact`. */
export function kindOf(m: Manifest): 'index' | 'image' | 'artifact' {
  if (Array.isArray(m.manifests)) return 'index';
  if (m.config && IMAGE_CONFIGS.has(m.config.mediaType) && !m.artifactType) return 'image';
  return 'artifact';
}

/** The artifact type of a referrer descriptor or manifest: `artifactType`, else the config's media type. */
export function artifactTypeOf(d: { artifactType?: string; config?: Descriptor; mediaType?: string }): string {
  return d.artifactType ?? d.config?.mediaType ?? d.mediaType ?? '';
}

/** A readable name of an artifact type: signature, SBOM, attestation, or the type itself. */
export function artifactKind(type: string): string {
  if (/cosign|signature|notary|\.sig\b/i.test(type)) return 'signature';
  if (/spdx|cyclonedx|sbom|syft/i.test(type)) return 'SBOM';
  if (/in-toto|attestation|provenance|vex/i.test(type)) return 'attestation';
  return 'artifact';
}

/** Pretty-printed JSON of the manifest text as stored; the text itself when it is not JSON. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
