/**
 * The public API of Wharf's registry client: what the CLI, the build helper and the pull-through
 * cache import. See docs/client.md, section "The library".
 */
export { RegistryClient, type RegistryClientOptions, type CallOptions, type FetchedManifest, type Repo, type RegistryRequest } from './registry-client.js';
export { Transport, NetworkError, isLoopback, type TransportOptions, type HttpRequest, type HttpResponse } from './transport.js';
export { ClientError, RegistryClientError, isRegistryError, type ClientErrorCode } from './errors.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { uploadBlob, type BlobOpener, type UploadOptions, type UploadResult } from './blob-upload.js';
export { fetchBlob, rangeStream } from './blob-download.js';
export { listTags, listRepositories, listReferrers, referrersTag, addToReferrersTag } from './listings.js';
export { DockerCredentials, StaticCredentials, type Credentials, type CredentialStore } from './auth/credentials.js';
export { TokenCache } from './auth/token-cache.js';
export { copyImage, pickPlatform, type CopyOptions, type CopyResult, type TransferEvent } from './image/copy.js';
export type { ImageSink, ImageSource, PutBlobOptions } from './image/types.js';
export { registrySink, registrySource } from './image/registry.js';
export { layoutSink, layoutSource, readLayoutIndex, fileRange } from './image/layout.js';
export { archiveSource } from './image/archive.js';
export { archiveSink, type ArchiveFormat } from './image/archive-sink.js';
export { writeBlobFile } from './image/blob-file.js';
export { openSink, openSource, parseLocation, parseReference, type ImageLocation } from './image/locations.js';
export { parseImageReference, formatReference, registryHost, type ImageReference } from '../oci/image-reference.js';
export { parsePlatform, formatPlatform, type Platform } from '../oci/platform.js';
