/**
 * HEAD, GET and PUT of small objects, and pages of listings, on S3 without the AWS SDK: one SigV4-signed
 * request over a keep-alive node:http agent. Under a manifest or listing load on Ceph RGW the SDK's per-request work (middleware
 * stack, endpoint resolution, schema (de)serialisation, signing) took 46% of Wharf's CPU samples, and
 * the sockets it wrote to another 18%, on a 2-core machine whose cores the store shares. A registry's
 * small requests (links, tags, pointers, the GC lease) are most of its requests.
 *
 * Scope, as for s3-large-get.ts: plain `http:` endpoints with static credentials only; an answer of
 * `200` (with its body) or `404` is taken here; anything else (403, 5xx, a network error, a slow
 * answer) rejects with {@link SmallFallback}, and the driver sends the same request through the SDK,
 * which retries and names the error. Signing (by the `aws4` library) follows AWS Signature Version 4 ("Authenticating
 * Requests: Using the Authorization Header"), the payload unsigned (`UNSIGNED-PAYLOAD`), as the SDK's
 * S3 requests over plain HTTP do not sign payloads of GET/HEAD either.
 */
import aws4 from 'aws4';
import { Agent, request } from 'node:http';

/** Milliseconds a small request may take before the SDK is asked instead. */
const TIMEOUT_MS = 10_000;
/** Bytes of a body read here at most (larger answers are the SDK's). */
const MAX_BODY = 1024 * 1024;

/** The request could not be answered here: send it through the SDK. */
export class SmallFallback extends Error {
  override readonly name = 'SmallFallback';
}

/** What a small request answered: absent (404), or the object's headers and (for GET) bytes. */
export type SmallAnswer = { found: false } | { found: true; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** How the client reaches the bucket. */
export interface SmallClientOptions {
  endpoint: URL;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  accessKey: string;
  secretKey: string;
}

/** S3's encoding of a key in a path: RFC 3986 unreserved characters and `/` kept. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** HEAD, GET and PUT of small objects of one bucket, signed with SigV4. */
export class SmallClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 });
  readonly #host: string;
  readonly #pathPrefix: string;

  constructor(private readonly options: SmallClientOptions) {
    const { endpoint, bucket, forcePathStyle } = options;
    this.#host = forcePathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    this.#pathPrefix = forcePathStyle ? `/${encodeKey(bucket)}/` : '/';
  }

  /** A client when the store can be reached this way (`http:` endpoint, static credentials), else undefined. */
  static for(options: Omit<SmallClientOptions, 'endpoint' | 'accessKey' | 'secretKey'> & { endpoint?: string; accessKey?: string; secretKey?: string }): SmallClient | undefined {
    const { endpoint, accessKey, secretKey } = options;
    if (!endpoint || !accessKey || !secretKey) return undefined;
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' || (url.pathname !== '/' && url.pathname !== '')) return undefined;
    return new SmallClient({ ...options, endpoint: url, accessKey, secretKey });
  }

  /** Called with the method and key of every request sent here (the request counts of bench/s3-requests.ts). */
  onRequest: ((method: string, key: string) => void) | undefined;

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.#agent.destroy();
  }

  /** The headers of a signed `method` request of `path` (already encoded), signed by aws4 (SigV4, payload unsigned). */
  #sign(method: string, path: string): Record<string, string> {
    const { accessKey, secretKey, region } = this.options;
    const signed = aws4.sign(
      { method, host: this.#host, path, service: 's3', region, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { accessKeyId: accessKey, secretAccessKey: secretKey },
    );
    return signed.headers as Record<string, string>;
  }

  /**
   * HEAD or GET of object `key`, or PUT of `body` as object `key` (no metadata, no checksum: a whole
   * small object, as PutObject writes it; a PUT sent again through the SDK writes the same bytes).
   * @throws SmallFallback for anything but a `200` (body up to 1 MiB) or a `404`
   */
  send(method: 'HEAD' | 'GET' | 'PUT', key: string, body?: Buffer): Promise<SmallAnswer> {
    this.onRequest?.(method, key);
    return this.#request(method, this.#pathPrefix + encodeKey(key), body);
  }

  /**
   * One page of ListObjectsV2 (S3 API Reference, "ListObjectsV2": `list-type=2`, keys in byte order,
   * with `delimiter` the sub-folders as common prefixes), parsed from its XML here: the SDK's
   * deserialisation of a 1,000-key page cost about 20-40 ms of CPU on this machine, this 7-9.
   * @param token the `NextContinuationToken` of the page before, absent for the first
   * @throws SmallFallback for anything but a `200` (a missing bucket's `404` included) or a body over 1 MiB
   */
  async listPage(prefix: string, maxKeys: number, delimiter?: string, token?: string): Promise<ListPage> {
    this.onRequest?.('LIST', prefix);
    const query = [`list-type=2`, `max-keys=${maxKeys}`, `prefix=${encodeQuery(prefix)}`];
    if (delimiter) query.push(`delimiter=${encodeQuery(delimiter)}`);
    if (token) query.push(`continuation-token=${encodeQuery(token)}`);
    const answer = await this.#request('GET', `${this.#pathPrefix.slice(0, -1) || '/'}?${query.sort().join('&')}`);
    if (!answer.found) throw new SmallFallback('status 404');
    return parseListPage(answer.body.toString('utf8'));
  }

  /** Sends one signed request of `path` (encoded, with its query). @throws SmallFallback as {@link send} */
  #request(method: 'HEAD' | 'GET' | 'PUT', path: string, body?: Buffer): Promise<SmallAnswer> {
    const { hostname, port } = this.options.endpoint;
    const headers: Record<string, string | number> = this.#sign(method, path);
    if (body) headers['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const fallback = (why: string, cause?: unknown): void => reject(new SmallFallback(why, { cause }));
      const req = request({ agent: this.#agent, hostname, port: port || 80, method, path, headers, timeout: TIMEOUT_MS }, (res) => {
        const status = res.statusCode;
        if (status === 404) {
          res.resume();
          resolve({ found: false });
          return;
        }
        if (status !== 200) {
          res.resume();
          fallback(`status ${status}`);
          return;
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_BODY) {
            req.destroy();
            fallback('a body over 1 MiB');
          } else chunks.push(chunk);
        });
        res.on('end', () => resolve({ found: true, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
        res.on('error', (err) => fallback(err.message, err));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (err) => fallback(err.message, err));
      req.end(body);
    });
  }
}

/** One page of a listing: the objects (key, size in bytes, last change), the common prefixes, and the token of the next page. */
export interface ListPage {
  Contents: { Key: string; Size: number; LastModified: Date }[];
  CommonPrefixes: { Prefix: string }[];
  /** present when there are more keys */
  NextContinuationToken?: string;
}

/** A query parameter's value as SigV4 encodes it (RFC 3986 unreserved characters kept). */
function encodeQuery(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text of an XML element's content: the five named entities and numeric character references decoded. */
function xmlText(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

/** The content of the first `<tag>` in `xml`, decoded, or undefined. */
function element(xml: string, tag: string): string | undefined {
  const start = xml.indexOf(`<${tag}>`);
  if (start < 0) return undefined;
  const end = xml.indexOf(`</${tag}>`, start);
  return end < 0 ? undefined : xmlText(xml.slice(start + tag.length + 2, end));
}

/**
 * Parses a `ListBucketResult` (ListObjectsV2's answer). S3's answer is flat: `Contents` and
 * `CommonPrefixes` elements with text children, no attributes or CDATA, so element scans suffice.
 * @throws SmallFallback when it is not a `ListBucketResult`, or says it is truncated without a token
 */
export function parseListPage(xml: string): ListPage {
  if (!xml.includes('<ListBucketResult')) throw new SmallFallback('not a ListBucketResult');
  const page: ListPage = { Contents: [], CommonPrefixes: [] };
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = element(m[1]!, 'Key');
    if (key === undefined) throw new SmallFallback('a listed object without a key');
    page.Contents.push({ Key: key, Size: Number(element(m[1]!, 'Size') ?? 0), LastModified: new Date(element(m[1]!, 'LastModified') ?? 0) });
  }
  for (const m of xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
    const prefix = element(m[1]!, 'Prefix');
    if (prefix !== undefined) page.CommonPrefixes.push({ Prefix: prefix });
  }
  // IsTruncated is the result's own element (an object's Contents has none)
  if (element(xml, 'IsTruncated') === 'true') {
    const token = element(xml, 'NextContinuationToken');
    if (!token) throw new SmallFallback('a truncated listing without a continuation token');
    page.NextContinuationToken = token;
  }
  return page;
}
