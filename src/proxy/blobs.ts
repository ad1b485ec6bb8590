/**
 * Blobs through the cache (the caller serves what the cache repository already links). A GET of a
 * blob that is not cached starts a {@link BlobFill}, or joins the one under way for the same
 * upstream repository and digest (single flight: one upstream GET however many clients ask). A
 * blob whose bytes are already stored for another repository is linked in once the upstream
 * confirms with a HEAD that this repository has it (no bytes move). A ranged GET or a HEAD of an
 * uncached blob is answered by the upstream, uncached.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ParsedDigest } from '../oci/digest.js';
import type { RegistryError } from '../oci/errors.js';
import type { Registry } from '../registry/registry.js';
import { BlobFill } from './blob-fill.js';
import type { UpstreamTarget } from './routing.js';
import type { ProxyStats } from './stats.js';
import { upstreamFailure, upstreamNotFound } from './upstream-errors.js';

/** How a blob request is answered. */
export type ProxiedBlob =
  /** the cache repository links it now: serve it from storage */
  | { kind: 'stored' }
  /** from a fill under way (`joined`: started by another request) */
  | { kind: 'fill'; fill: BlobFill; joined: boolean }
  /** a HEAD answered by the upstream: the blob's size in bytes */
  | { kind: 'head'; size: number }
  /** a ranged GET answered by the upstream, not stored: its status (206, or 200 when it ignored the range), body and `Content-Range` */
  | { kind: 'passthrough'; status: number; body: Readable; size?: number };

/** Options of {@link BlobProxy}. */
export interface BlobProxyOptions {
  /** ms a whole blob may take to arrive (`proxy.filltimeout`) */
  fillTimeoutMs: number;
  /** bytes of a fill kept in memory for its clients (tests shrink it) */
  windowBytes?: number;
  logger?: Logger;
}

/** Blobs of upstream repositories, cached in their cache repositories. */
export class BlobProxy {
  readonly #fills = new Map<string, BlobFill>();

  constructor(
    private readonly registry: Registry,
    private readonly stats: ProxyStats,
    private readonly options: BlobProxyOptions,
  ) {}

  /**
   * Answers a GET or HEAD of blob `digest` that the cache repository does not link.
   * @param range a GET's byte range (`start`, and `end` inclusive when given), if any
   * @throws RegistryError BLOB_UNKNOWN (the upstream does not have it) | TOOMANYREQUESTS | UNAVAILABLE
   */
  async get(target: UpstreamTarget, digest: ParsedDigest, method: 'GET' | 'HEAD', range?: { start: number; end?: number }): Promise<ProxiedBlob> {
    const running = this.#fills.get(this.key(target, digest));
    if (running) {
      await this.ready(target, digest, running);
      this.stats.count(target.upstream.name, 'collapsed');
      if (method === 'HEAD' && running.size !== undefined) return { kind: 'head', size: running.size };
      if (method === 'GET') return { kind: 'fill', fill: running, joined: true };
    }
    if ((await this.registry.blobs.statStored(digest.digest)) !== undefined && (await this.adopt(target, digest))) return { kind: 'stored' };
    if (method === 'HEAD') {
      const size = await this.upstreamSize(target, digest);
      this.stats.count(target.upstream.name, 'miss');
      return { kind: 'head', size };
    }
    if (range) {
      const { upstream, remote } = target;
      const length = range.end === undefined ? undefined : range.end - range.start + 1;
      const deadline = upstream.answerDeadline();
      const answer = await upstream.client
        .blobResponse(upstream.repo(remote), digest.digest, { offset: range.start, length, signal: deadline.signal })
        .catch((err: unknown) => {
          throw this.failed(target, digest, err);
        })
        .finally(deadline.answered);
      this.stats.count(target.upstream.name, 'miss');
      return { kind: 'passthrough', ...answer };
    }
    const fill = this.start(target, digest);
    await this.ready(target, digest, fill);
    this.stats.count(target.upstream.name, 'miss');
    return { kind: 'fill', fill, joined: false };
  }

  /**
   * Makes sure blob `digest` is in the cache repository (prefetch): links it, fetches it, or waits
   * for the fill under way.
   * @returns true when its bytes came from the upstream, false when they were already stored
   * @throws RegistryError as {@link get}; the fill's error when it failed
   */
  async ensure(target: UpstreamTarget, digest: ParsedDigest): Promise<boolean> {
    if (await this.registry.blobs.servable(target.cache, digest.digest)) return false;
    const running = this.#fills.get(this.key(target, digest));
    if (!running && (await this.registry.blobs.statStored(digest.digest)) !== undefined && (await this.adopt(target, digest))) return false;
    const fill = running ?? this.start(target, digest);
    await this.ready(target, digest, fill);
    await fill.done;
    return true;
  }

  private key(target: UpstreamTarget, digest: ParsedDigest): string {
    return `${target.upstream.name}/${target.remote}@${digest.digest}`;
  }

  private start(target: UpstreamTarget, digest: ParsedDigest): BlobFill {
    const { upstream, remote, cache } = target;
    const key = this.key(target, digest);
    const fill = BlobFill.start({
      upstream,
      remote,
      cache,
      digest,
      registry: this.registry,
      timeoutMs: this.options.fillTimeoutMs,
      windowBytes: this.options.windowBytes,
      onBytes: (bytes) => this.stats.count(upstream.name, 'bytesFetched', bytes),
      logger: this.options.logger,
    });
    this.#fills.set(key, fill);
    fill.done.then(
      () => this.#fills.delete(key),
      (err: unknown) => {
        this.#fills.delete(key);
        if (fill.size === undefined && !fill.fetching) return; // the upstream refused it: answered as an error, counted there
        this.stats.count(upstream.name, 'fillFailed', 1, (err as Error).message);
        this.options.logger?.warn({ upstream: upstream.name, repository: remote, digest: digest.digest, err: (err as Error).message }, 'blob from upstream not cached');
      },
    );
    return fill;
  }

  /** Waits for the fill's upstream answer. @throws RegistryError for a failed one */
  private async ready(target: UpstreamTarget, digest: ParsedDigest, fill: BlobFill): Promise<void> {
    try {
      await fill.ready;
    } catch (err) {
      throw this.failed(target, digest, err);
    }
  }

  /** Links the stored blob into the cache repository when the upstream confirms (HEAD) the repository has it. */
  private async adopt(target: UpstreamTarget, digest: ParsedDigest): Promise<boolean> {
    await this.upstreamSize(target, digest);
    return (await this.registry.blobs.adopt(target.cache, digest.digest)) !== undefined;
  }

  /** The blob's size from a HEAD to the upstream. @throws RegistryError */
  private async upstreamSize(target: UpstreamTarget, digest: ParsedDigest): Promise<number> {
    const { upstream, remote } = target;
    let size: number | undefined;
    try {
      size = await upstream.client.headBlob(upstream.repo(remote), digest.digest, { signal: upstream.deadline() });
    } catch (err) {
      throw this.failed(target, digest, err);
    }
    if (size === undefined) throw upstreamNotFound(target, digest.digest, 'BLOB_UNKNOWN');
    return size;
  }

  private failed(target: UpstreamTarget, digest: ParsedDigest, err: unknown): RegistryError {
    const error = upstreamFailure(target, err, digest.digest, 'BLOB_UNKNOWN');
    if (error.status !== 404) this.stats.count(target.upstream.name, 'upstreamError', 1, error.message);
    return error;
  }
}
