/**
 * The bench's HTTP client: node:http with a keep-alive agent, request bodies streamed from a
 * Readable (never buffered), response bodies either collected (small answers) or counted and dropped
 * (blob pulls).
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A keep-alive agent shared by the bench's requests (up to 64 sockets per server). */
export const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A response: status, headers, and the body (empty when it was only counted). */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** bytes of body received */
  bytes: number;
}

/** Options of {@link send}. */
export interface SendOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** the request body: bytes, or a stream piped with back-pressure */
  body?: Buffer | string | Readable;
  /** count the response body's bytes and drop them instead of collecting them */
  discard?: boolean;
}

/**
 * Sends one request to `url`.
 * @throws Error on a connection error (a non-2xx status is returned, not thrown)
 */
export function send(url: string | URL, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!options.discard) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = options.body;
    if (body instanceof Readable) pipeline(body, req).catch(reject);
    else req.end(body);
  });
}

/**
 * {@link send}, requiring status `expected`.
 * @throws Error naming the method, URL, status and the start of the body otherwise
 */
export async function expect(expected: number, url: string | URL, options: SendOptions = {}): Promise<Answer> {
  const answer = await send(url, options);
  if (answer.status !== expected) {
    throw new Error(`${options.method ?? 'GET'} ${String(url)}: status ${answer.status}, expected ${expected}: ${answer.body.toString('utf8').slice(0, 300)}`);
  }
  return answer;
}

/** `location` resolved against `base`, with query parameter `key=value` added when given. */
export function locationURL(base: string, location: string | undefined, query?: Record<string, string>): URL {
  if (!location) throw new Error('the registry answered without a Location header');
  const url = new URL(location, base);
  for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
  return url;
}
