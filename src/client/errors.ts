/**
 * The client's errors. A {@link ClientError} has a stable `code` the CLI turns into one line and
 * an exit status; {@link RegistryClientError} is a registry's answer (go-containerregistry's
 * `transport.Error`: the spec's `{"errors":[...]}` body, the status, the request), which knows
 * whether it is worth retrying.
 */

/** Stable codes of client failures that are not a registry's answer. */
export type ClientErrorCode =
  | 'INVALID_REFERENCE'
  | 'HOST_UNKNOWN'
  | 'CONNECTION_FAILED'
  | 'TLS_FAILED'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'INVALID_IMAGE'
  | 'NOT_FOUND'
  | 'CREDENTIALS'
  | 'PROTOCOL'
  | 'ABORTED'
  | 'REGISTRY';

/** A failure of the client, with a stable code and an optional hint of what to do. */
export class ClientError extends Error {
  override readonly name: string = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
  }
  /** what the user can do about it, e.g. `run wharf login HOST` */
  hint: string | undefined;
}

/** One entry of the spec's error body. */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

const TEMPORARY_CODES = new Set(['BLOB_UPLOAD_INVALID', 'TOOMANYREQUESTS', 'UNKNOWN', 'UNAVAILABLE']);
const TEMPORARY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** A registry's error answer (Distribution Spec v1.1 "Error Codes"). */
export class RegistryClientError extends ClientError {
  override readonly name = 'RegistryClientError';
  constructor(
    readonly status: number,
    readonly errors: RegistryErrorEntry[],
    readonly request: { method: string; url: string },
    /** seconds from `Retry-After`, when the registry sent one */
    readonly retryAfter?: number,
  ) {
    const what = errors.map((e) => `${e.code}: ${e.message}`).join('; ') || `HTTP ${status}`;
    super('REGISTRY', `${request.method} ${redact(request.url)}: ${what}`);
  }

  /** The first spec error code, else `HTTP_<status>`. */
  get registryCode(): string {
    return this.errors[0]?.code ?? `HTTP_${this.status}`;
  }

  /** True for 408/429/5xx without a body, or when every code is one a retry may cure. */
  get temporary(): boolean {
    if (this.errors.length === 0) return TEMPORARY_STATUSES.has(this.status);
    return TEMPORARY_STATUSES.has(this.status) && this.errors.every((e) => TEMPORARY_CODES.has(e.code));
  }
}

/** A URL without its query string (which may hold a credential or a session's state). */
export function redact(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?...`;
}

/** True when `err` is a {@link RegistryClientError} with `status` or spec `code`. */
export function isRegistryError(err: unknown, match: { status?: number; code?: string }): err is RegistryClientError {
  if (!(err instanceof RegistryClientError)) return false;
  if (match.status !== undefined && err.status !== match.status) return false;
  return match.code === undefined || err.errors.some((e) => e.code === match.code);
}
