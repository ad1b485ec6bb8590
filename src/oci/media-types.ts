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
