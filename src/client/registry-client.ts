/**
 * THE registry client (Distribution Spec v1.1 from the outside): one object per program, shared by
 * every registry it talks to, holding the connection pools, the credentials and the token cache.
 * Every call takes an `AbortSignal`; every request is retried on 429/5xx and on network failures of
 * a registry that answered before (a restart), with backoff and `Retry-After`; a 401 is answered
 * once with the challenge's scheme (see {@link Authenticator}). Blob transfers live in
 * `blob-upload.ts` and `blob-download.ts`, listings and referrers in `listings.ts`, manifest GET,
 * HEAD, PUT and DELETE in `manifests.ts` (whose functions this class's methods of the same names call).
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import { registryHost, type ImageReference } from '../oci/image-reference.js';
import type { Descriptor } from '../oci/manifest.js';
import { Authenticator } from './auth/authenticator.js';
import { repositoryScope } from './auth/challenge.js';
import type { CredentialStore } from './auth/credentials.js';
import { TokenCache } from './auth/token-cache.js';
import { ClientError, isRegistryError } from './errors.js';
import { drain, header, responseError } from './http-body.js';
import { deleteManifest, getManifest, headManifest, putManifest } from './manifests.js';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from './retry.js';
import { Transport, type HttpResponse, type TransportOptions } from './transport.js';

/** A repository of a registry: what every blob and manifest call names (an {@link ImageReference} is one). */
export interface Repo {
  /** the registry as referenced (`docker.io` for Hub, `localhost:5000`) */
  registry: string;
  repository: string;
}

/** Options of a {@link RegistryClient}; every one has a default. */
export interface RegistryClientOptions extends TransportOptions {
  /** where credentials come from (default none: anonymous); the CLI passes `new DockerCredentials()` */
  credentials?: CredentialStore;
  /** retries and backoff (default {@link DEFAULT_RETRY}) */
  retry?: Partial<RetryPolicy>;
  /** a transport to share (default one of the client's own, from the transport options) */
  transport?: Transport;
  /** a token cache to share between clients (default the client's own) */
  tokens?: TokenCache;
  /** bytes per PATCH of a chunked upload (default 64 MiB) */
  chunkSize?: number;
  /**
   * blobs up to this size (bytes) are uploaded in one PUT (default `chunkSize`: a blob that fits in
   * one PATCH goes with one request less)
   */
  monolithicMax?: number;
  /** blobs from this size (bytes) are downloaded with parallel ranged GETs (default 64 MiB) */
  parallelThreshold?: number;
  /** ranged GETs in flight for one large blob (default 4) */
  parallelParts?: number;
}

/** Options of one call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A request of {@link RegistryClient.request}. */
export interface RegistryRequest extends CallOptions {
  method: string;
  /** a path under the registry's origin (`/v2/...`), or an absolute URL (an upload `Location`) */
  path: string;
  headers?: Record<string, string>;
  /** the body: bytes, or a function making a fresh stream per attempt */
  body?: Buffer | string | (() => Readable | Promise<Readable>);
  /** statuses that are success (others become a RegistryClientError) */
  expect: readonly number[];
  /** retry temporary failures (default true) */
  retry?: boolean;
  /** the answer may carry a large body (a blob GET): see `HttpRequest.largeBody` (transport.ts) */
  largeBody?: boolean;
}

/** A manifest as fetched: its exact bytes, media type and digest. */
export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
}

/** The registry client. */
export class RegistryClient {
  readonly transport: Transport;
  readonly auth: Authenticator;
  readonly retry: RetryPolicy;
  readonly chunkSize: number;
  readonly monolithicMax: number;
  readonly parallelThreshold: number;
  readonly parallelParts: number;

  constructor(options: RegistryClientOptions = {}) {
    this.transport = options.transport ?? new Transport(options);
    this.auth = new Authenticator(this.transport, options.credentials, options.tokens ?? new TokenCache());
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.chunkSize = options.chunkSize ?? 64 * 1024 * 1024;
    this.monolithicMax = options.monolithicMax ?? this.chunkSize;
    this.parallelThreshold = options.parallelThreshold ?? 64 * 1024 * 1024;
    this.parallelParts = options.parallelParts ?? 4;
  }

  /** The base URL of `registry`'s API host (`https://registry-1.docker.io` for `docker.io`). */
  baseUrl(registry: string): string {
    return this.transport.baseUrl(registryHost(registry));
  }

  /**
   * Sends a request to `registry` with the credentials for `scopes`, answering one 401 challenge and
   * retrying temporary failures. Unexpected statuses become a {@link RegistryClientError}.
   * @throws RegistryClientError | ClientError (network, credentials, aborted)
   */
  async request(registry: string, scopes: readonly string[], req: RegistryRequest): Promise<HttpResponse> {
    const url = /^https?:\/\//.test(req.path) ? req.path : `${this.baseUrl(registry)}${req.path}`;
    const policy = req.retry === false ? { ...this.retry, retries: 0 } : this.retry;
    return withRetries(
      policy,
      async () => {
        let authorization = await this.auth.header(registry, scopes);
        for (let challenged = false; ; challenged = true) {
          const body = typeof req.body === 'function' ? await req.body() : req.body;
          const res = await this.transport.send({
            method: req.method,
            url,
            headers: { ...req.headers, ...(authorization ? { authorization } : {}) },
            body,
            signal: req.signal,
            largeBody: req.largeBody,
          });
          if (res.status === 401 && !challenged) {
            const answer = await this.auth.answer(registry, scopes, res.headers['www-authenticate'], req.signal);
            if (answer && answer !== authorization) {
              await drain(res);
              if (body && typeof body === 'object' && 'destroy' in body) body.destroy();
              authorization = answer;
              continue;
            }
          }
          if (req.expect.includes(res.status)) return res;
          throw await responseError(res, req.method);
        }
      },
      req.signal,
    );
  }

  /** `GET /v2/`: checks that the registry answers and that the credentials (if any) are accepted. */
  async ping(registry: string, options: CallOptions = {}): Promise<void> {
    const res = await this.request(registry, [], { method: 'GET', path: '/v2/', expect: [200], ...options });
    await drain(res);
  }

  /**
   * Fetches a manifest by tag or digest (`ref.digest` wins), with every manifest media type accepted
   * (or `options.accept`), its digest verified (see {@link getManifest}).
   * @throws ClientError DIGEST_MISMATCH | PROTOCOL (over MAX_MANIFEST_BYTES, 4 MiB); RegistryClientError MANIFEST_UNKNOWN (404)
   */
  getManifest(ref: ImageReference, options: CallOptions & { accept?: readonly string[] } = {}): Promise<FetchedManifest> {
    return getManifest(this, ref, options);
  }

  /** `HEAD` of a manifest: its descriptor, or undefined when the registry does not have it (404). @throws ClientError PROTOCOL when the answer names no digest */
  headManifest(ref: ImageReference, options: CallOptions = {}): Promise<Descriptor | undefined> {
    return headManifest(this, ref, options);
  }

  /**
   * Pushes a manifest's exact bytes under `reference` (a tag, or its digest), adding it to its
   * subject's referrers tag where the registry has no referrers API (see {@link putManifest}).
   * @returns the manifest's digest
   * @throws RegistryClientError MANIFEST_INVALID | MANIFEST_BLOB_UNKNOWN | ...
   */
  putManifest(repo: Repo, reference: string, bytes: Buffer, mediaType: string, options: CallOptions = {}): Promise<Digest> {
    return putManifest(this, repo, reference, bytes, mediaType, options);
  }

  /** Deletes a manifest by digest (or, where the registry allows it, a tag). @throws RegistryClientError */
  deleteManifest(ref: ImageReference, options: CallOptions = {}): Promise<void> {
    return deleteManifest(this, ref, options);
  }

  /** `HEAD` of a blob: its size in bytes, or undefined when the repository does not have it. */
  async headBlob(repo: Repo, digest: Digest, options: CallOptions = {}): Promise<number | undefined> {
    const res = await this.request(repo.registry, [repositoryScope(repo.repository, ['pull'])], {
      method: 'HEAD',
      path: `/v2/${repo.repository}/blobs/${digest}`,
      expect: [200, 404],
      signal: options.signal,
    });
    await drain(res);
    return res.status === 404 ? undefined : Number(header(res, 'content-length') ?? 0);
  }

  /**
   * `GET` of a blob's raw bytes (redirects to storage followed), from `offset` for `length` bytes
   * when given (`Range`): NOT verified, for callers that verify themselves or serve ranges (the
   * pull-through cache). Destroy the stream to stop early.
   * @returns the body, the status (200, or 206 for a range) and the blob's total size when known
   * @throws RegistryClientError BLOB_UNKNOWN (404) | RANGE_INVALID (416)
   */
  async blobResponse(repo: Repo, digest: Digest, options: CallOptions & { offset?: number; length?: number } = {}): Promise<{ body: Readable; status: number; size?: number }> {
    const ranged = options.offset !== undefined || options.length !== undefined;
    const start = options.offset ?? 0;
    const end = options.length !== undefined ? `${start + options.length - 1}` : '';
    const res = await this.request(repo.registry, [repositoryScope(repo.repository, ['pull'])], {
      method: 'GET',
      path: `/v2/${repo.repository}/blobs/${digest}`,
      headers: ranged ? { range: `bytes=${start}-${end}` } : {},
      expect: ranged ? [200, 206] : [200],
      signal: options.signal,
      largeBody: true,
    });
    const range = /\/(\d+)$/.exec(header(res, 'content-range') ?? '');
    const size = range ? Number(range[1]) : res.status === 200 && header(res, 'content-length') ? Number(header(res, 'content-length')) : undefined;
    if (ranged && res.status === 200 && start > 0) {
      await drain(res);
      throw new ClientError('PROTOCOL', `${repo.registry}/${repo.repository}@${digest}: the registry ignored Range`);
    }
    return { body: res.body, status: res.status, size };
  }

  /** Closes the pooled connections; the client is unusable afterwards. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /** True when `err` says the manifest or repository is unknown (404 MANIFEST_UNKNOWN, NAME_UNKNOWN or a bare 404). */
  static isNotFound(err: unknown): boolean {
    return isRegistryError(err, { status: 404 });
  }
}
