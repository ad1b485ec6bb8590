/**
 * HTTP plumbing of the client, on Node's own `http`/`https` agents (pooled keep-alive connections,
 * streamed bodies, nothing to load at start: a command starts in a fraction of the time undici's
 * import takes, which a CLI pays on every run): the
 * scheme of each registry (plain HTTP only for loopback names and `insecure` hosts, as docker does;
 * TLS otherwise, trusting `caFile` / `$SSL_CERT_FILE` besides the system's roots), redirects followed
 * by hand so that `Authorization` never reaches another host (go-containerregistry
 * `remote/transport`: our own S3 redirects would reject it), and network failures turned into
 * {@link ClientError}s that say whether a retry may help.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { ClientError, redact } from './errors.js';
import { OriginSlots } from './origin-slots.js';
import { socketGet, SocketGetFallback, socketGets } from './socket-get.js';

/** Options of a {@link Transport}. */
export interface TransportOptions {
  /** registries (host[:port]) reached over plain HTTP besides loopback ones (`--insecure`) */
  insecure?: readonly string[];
  /** registries (host[:port]) reached over TLS even on a loopback name (a pull-through cache's `https://127.0.0.1:5443` upstream) */
  tls?: readonly string[];
  /** a PEM bundle of extra trusted certificate authorities; default `$SSL_CERT_FILE` when set */
  caFile?: string;
  /** connections kept per origin at most: the cap of concurrent requests per registry (default 32) */
  connectionsPerOrigin?: number;
  /** the `User-Agent` header (default `wharf`) */
  userAgent?: string;
  /** seconds without a byte before a request fails (default 300) */
  timeoutSeconds?: number;
}

/** A request of {@link Transport.send}. */
export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** a body: bytes, or a stream (which cannot be sent twice) */
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
  /** redirects followed at most (default 5; 0 answers the 3xx itself; past it: ClientError PROTOCOL) */
  maxRedirects?: number;
  /**
   * the answer's body may be large (a blob): a GET over plain HTTP is then read from a connection of
   * its own into reused-memory slabs of 120 KiB ({@link socketGet}) instead of Node's 64 KiB parser chunks
   */
  largeBody?: boolean;
}

/** A response: status, lowercase headers, the body stream (consume or destroy it), the URL that answered. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  url: string;
}

/** One exchange's answer, before redirects are followed. */
type Exchanged = { status: number; headers: IncomingMessage['headers']; body: Readable };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Bytes a pooled socket queues before `write` says "wait for drain" (Node's default is 16 KiB). A
 * request body arrives in 64 KiB reads, so at 16 KiB every single write of a blob returned false,
 * and a piped body paused and resumed once per chunk: 8,109 drains for two 250 MiB copies against
 * 155 at 1 MiB. Back-pressure still holds, one MiB per socket later.
 */
export const SOCKET_WRITE_BUFFER = 1024 * 1024;

/** The one HTTP client of `src/client/`. */
export class Transport {
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;
  readonly #timeoutMs: number;
  readonly #insecure: Set<string>;
  readonly #tls: Set<string>;
  readonly #userAgent: string;
  /** the cap of requests in flight per origin, over the agents and the socket GETs */
  readonly #slots: OriginSlots;
  /** origins that answered once: a connection failure to them is worth a retry (a restart), to others it is not */
  readonly #reached = new Set<string>();

  constructor(options: TransportOptions = {}) {
    this.#insecure = new Set((options.insecure ?? []).map((h) => h.toLowerCase()));
    this.#tls = new Set((options.tls ?? []).map((h) => h.toLowerCase()));
    this.#userAgent = options.userAgent ?? 'wharf';
    this.#timeoutMs = (options.timeoutSeconds ?? 300) * 1000;
    const caFile = options.caFile ?? process.env.SSL_CERT_FILE;
    let ca: string | undefined;
    if (caFile) {
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch (err) {
        throw new ClientError('TLS_FAILED', `cannot read the CA file ${caFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    // Agent options reach net.createConnection, so every pooled socket gets the larger write buffer
    this.#slots = new OriginSlots(options.connectionsPerOrigin ?? 32);
    const pool = { keepAlive: true, maxSockets: options.connectionsPerOrigin ?? 32, maxFreeSockets: 16, scheduling: 'lifo' as const, writableHighWaterMark: SOCKET_WRITE_BUFFER };
    this.#http = new HttpAgent(pool);
    this.#https = new HttpsAgent({ ...pool, ...(ca ? { ca: [ca, ...rootCertificates] } : {}) });
  }

  /** `https` for `tls` hosts; `http` for loopback names and insecure hosts; else `https`. */
  scheme(host: string): 'http' | 'https' {
    if (this.#tls.has(host.toLowerCase())) return 'https';
    return this.allowsPlainHttp(host) ? 'http' : 'https';
  }

  /** True when `host` (`host[:port]`) may be reached over plain HTTP: a loopback name or an `insecure` host. */
  allowsPlainHttp(host: string): boolean {
    return isLoopback(host) || this.#insecure.has(host.toLowerCase());
  }

  /** The base URL of a registry host: `<scheme>://<host>`. */
  baseUrl(host: string): string {
    return `${this.scheme(host)}://${host}`;
  }

  /**
   * Sends one request, following redirects (307 to blob storage): `Authorization` is dropped when a
   * redirect leaves the request's origin, and a 303 (or a 301/302 of a POST) becomes a GET.
   * @throws ClientError HOST_UNKNOWN | CONNECTION_FAILED (with `retryable` set when the origin answered
   *   before) | TLS_FAILED | ABORTED | PROTOCOL (more than `maxRedirects` redirects)
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    let url = new URL(req.url);
    const origin = url.origin;
    let method = req.method;
    let headers: Record<string, string> = { 'user-agent': this.#userAgent, ...lower(req.headers ?? {}) };
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const res = await this.#inSlot(url, method, req.signal, () =>
        req.largeBody && method === 'GET' && body === undefined && url.protocol === 'http:'
          ? this.#socketExchange(url, headers, req.signal)
          : this.#exchange(url, method, headers, body, req.signal),
      );
      const location = res.headers.location;
      const limit = req.maxRedirects ?? 5;
      if (!REDIRECTS.has(res.status) || typeof location !== 'string' || limit === 0) {
        return { status: res.status, headers: res.headers, body: res.body, url: url.toString() };
      }
      res.body.resume();
      if (hop >= limit) {
        throw new ClientError('PROTOCOL', `${req.method} ${redact(req.url)}: more than ${limit} redirects (the last to ${redact(new URL(location, url).toString())})`, {
          hint: 'the registry (or the storage it redirects to) redirects in a loop: check its configuration',
        });
      }
      url = new URL(location, url);
      if (url.origin !== origin) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        delete headers['content-length'];
        delete headers['content-type'];
      }
    }
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    this.#http.destroy();
    this.#https.destroy();
  }

  /** Runs `exchange` in one of `url`'s origin slots, held until the answer's body ended or closed (a HEAD's: at once). */
  async #inSlot(url: URL, method: string, signal: AbortSignal | undefined, exchange: () => Promise<Exchanged>): Promise<Exchanged> {
    let release: () => void;
    try {
      release = await this.#slots.acquire(url.origin, signal);
    } catch (err) {
      throw networkError(err, method, url, this.#reached.has(url.origin), signal);
    }
    try {
      const res = await exchange();
      if (method === 'HEAD' || res.body.readableEnded || res.body.destroyed) release();
      else res.body.once('end', release).once('close', release).once('error', release);
      return res;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A GET through {@link socketGet}; through {@link #exchange} when the answer's framing asks for Node's client. */
  async #socketExchange(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<Exchanged> {
    try {
      const res = await socketGet({ url, headers, signal, timeoutMs: this.#timeoutMs });
      this.#reached.add(url.origin);
      return res;
    } catch (err) {
      if (!(err instanceof SocketGetFallback)) throw networkError(err, 'GET', url, this.#reached.has(url.origin), signal);
      socketGets.fallbacks++;
      return this.#exchange(url, 'GET', headers, undefined, signal);
    }
  }

  #exchange(url: URL, method: string, headers: Record<string, string>, body: HttpRequest['body'], signal?: AbortSignal): Promise<Exchanged> {
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => {
        if (body && typeof body === 'object' && 'destroy' in body) body.destroy();
        reject(networkError(err, method, url, this.#reached.has(url.origin), signal));
      };
      if (signal?.aborted) return fail(signal.reason);
      const https = url.protocol === 'https:';
      const length = typeof body === 'string' ? Buffer.byteLength(body) : Buffer.isBuffer(body) ? body.length : undefined;
      const req = (https ? httpsRequest : httpRequest)(url, {
        method,
        headers: { ...headers, ...(length !== undefined ? { 'content-length': String(length) } : {}) },
        agent: https ? this.#https : this.#http,
        signal,
        timeout: this.#timeoutMs,
      });
      req.once('timeout', () => req.destroy(Object.assign(new Error(`no answer in ${this.#timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      req.once('error', fail);
      req.once('response', (res) => {
        this.#reached.add(url.origin);
        req.removeListener('error', fail);
        req.on('error', (err) => res.destroy(err));
        res.on('aborted', () => res.destroy(Object.assign(new Error('the connection closed mid-body'), { code: 'ECONNRESET' })));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        body.once('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }
}

/** A {@link ClientError} for a failed exchange; `retryable` when a retry may succeed. */
export class NetworkError extends ClientError {
  override readonly name = 'NetworkError';
  constructor(
    code: 'HOST_UNKNOWN' | 'CONNECTION_FAILED' | 'TLS_FAILED' | 'ABORTED',
    message: string,
    readonly retryable: boolean,
    cause: unknown,
    /** the host[:port] the exchange failed with (a command's second registry, a token realm elsewhere) */
    readonly host?: string,
  ) {
    super(code, message, { cause });
  }
}

const TLS_CODES = /^(?:CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL|ERR_TLS|EPROTO)/;

function networkError(err: unknown, method: string, url: URL, reachedBefore: boolean, signal?: AbortSignal): NetworkError {
  if (signal?.aborted) return new NetworkError('ABORTED', `${method} ${redact(url.toString())}: aborted`, false, signal.reason ?? err);
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code ?? '';
  const detail = e.cause?.message ?? e.message ?? String(err);
  const where = `${method} ${redact(url.toString())}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new NetworkError('HOST_UNKNOWN', `${where}: unknown host ${url.hostname}`, false, err, url.host);
  if (TLS_CODES.test(code)) return new NetworkError('TLS_FAILED', `${where}: TLS failed (${code}: ${detail})`, false, err, url.host);
  if (code === 'ECONNREFUSED') return new NetworkError('CONNECTION_FAILED', `${where}: connection refused by ${url.host}`, reachedBefore, err, url.host);
  return new NetworkError('CONNECTION_FAILED', `${where}: ${code ? `${code}: ` : ''}${detail}`, true, err, url.host);
}

/** True for `localhost`, `127.0.0.0/8` and `::1` (with or without a port). */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
