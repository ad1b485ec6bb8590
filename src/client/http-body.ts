/** Small helpers for response bodies: read a bounded body, drain one, parse the spec's error body. */
import type { Readable } from 'node:stream';
import { RegistryClientError, type RegistryErrorEntry } from './errors.js';
import type { HttpResponse } from './transport.js';

/**
 * Reads a whole body of at most `limit` bytes (manifests, token answers, error bodies).
 * @throws Error when the body is longer
 */
export async function readBody(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      body.destroy();
      throw new Error(`response body larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Discards a body so that its connection can be reused. */
export async function drain(res: HttpResponse): Promise<void> {
  if (res.body.readableEnded) return;
  await new Promise<void>((done) => {
    res.body.once('end', done).once('close', done).once('error', () => done());
    res.body.resume();
  });
}

/**
 * The error of a response the caller did not expect: the spec's `{"errors":[...]}` body (read up to
 * 64 KiB, as go-containerregistry's `CheckError`), the status and `Retry-After`.
 */
export async function responseError(res: HttpResponse, method: string): Promise<RegistryClientError> {
  let errors: RegistryErrorEntry[] = [];
  if (method !== 'HEAD') {
    try {
      const json = JSON.parse((await readBody(res.body, 64 * 1024)).toString('utf8')) as { errors?: unknown };
      if (Array.isArray(json.errors)) {
        errors = json.errors
          .filter((e): e is RegistryErrorEntry => typeof e === 'object' && e !== null && typeof (e as RegistryErrorEntry).code === 'string')
          .map((e) => ({ code: e.code, message: String(e.message ?? ''), detail: e.detail }));
      }
    } catch {
      // not the spec's JSON: the status says it all
    }
  } else await drain(res);
  return new RegistryClientError(res.status, errors, { method, url: res.url }, retryAfterSeconds(res.headers['retry-after']));
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

/** A header's single value. */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
