/**
 * Media types of manifests the registry stores (OCI Image Spec v1.1 "Media Types";
 * Docker Image Manifest V2 Schema 2).
 */

/** OCI image manifest (image-spec "Image Manifest"). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index (image-spec "Image Index"); also the body of a referrers response. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** Docker Image Manifest V2, Schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list (the multi-platform form of schema 2). */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Docker schema 1 (deprecated, refused). */
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
/** Docker schema 1, signed (deprecated, refused). */
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
/** Docker's foreign (non-distributable) layer: may be absent from the registry when it has `urls`. */
export const DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
/** OCI's non-distributable layers (deprecated in image-spec 1.1, still accepted). */
export const OCI_NONDISTRIBUTABLE_PREFIX = 'application/vnd.oci.image.layer.nondistributable.';

/** The two kinds of manifest the registry understands. */
export type ManifestKind = 'image' | 'index';

/** The kind of each supported manifest media type. */
export const MANIFEST_KINDS: Readonly<Record<string, ManifestKind>> = {
  [OCI_MANIFEST]: 'image',
  [DOCKER_MANIFEST]: 'image',
  [OCI_INDEX]: 'index',
  [DOCKER_MANIFEST_LIST]: 'index',
};

/** OCI image config (image-spec "Image Configuration"). */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** Docker image config (Image Manifest V2 Schema 2). */
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** OCI gzip-compressed layer. */
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** OCI uncompressed layer. */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
/** Docker's uncompressed layer (`MediaTypeUncompressedLayer` in Distribution). */
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
/** Docker's gzip-compressed layer. */
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** The empty JSON descriptor's media type (image-spec 1.1 "Guidance for an Empty Descriptor"). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** The annotation OCI layouts name an image's tag with (image-spec "Pre-Defined Annotation Keys"). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Every manifest media type a client accepts, for `Accept` headers. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];
