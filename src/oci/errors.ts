/**
 * The registry's error vocabulary: the OCI Distribution Spec v1.1 error codes
 * (section "Error Codes", code-1 to code-14) plus the few that CNCF Distribution adds
 * (`UNKNOWN`, `UNAVAILABLE`, `RANGE_INVALID`, `TAG_INVALID`, `PAGINATION_NUMBER_INVALID`).
 *
 * Every error the server answers with is a {@link RegistryError}; `routes/errors.ts` turns it
 * into the spec's JSON body `{"errors":[{"code","message","detail"}]}` with {@link RegistryError.status}.
 */

/** Each code with its default HTTP status and message (spec, "Error Codes"). */
export const CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  TAG_INVALID: { status: 400, message: 'invalid tag' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  // Wharf's admin API (garbage collection)
  GC_REQUEST_INVALID: { status: 400, message: 'invalid garbage collection request' },
  GC_RUN_UNKNOWN: { status: 404, message: 'garbage collection run unknown' },
  GC_RUNNING: { status: 409, message: 'a garbage collection is already running' },
  // Wharf's admin API (lists: sort, filter, cursor)
  QUERY_INVALID: { status: 400, message: 'invalid query parameter' },
} as const satisfies Record<string, { status: number; message: string }>;

/** One of the codes in {@link CODES}. */
export type ErrorCode = keyof typeof CODES;

/** Options of a {@link RegistryError}: all optional; `status` overrides the code's default. */
export interface RegistryErrorOptions {
  message?: string;
  detail?: unknown;
  status?: number;
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error the registry answers with: a spec code, an HTTP status (the code's default unless
 * overridden, e.g. 416 for a bad upload range), a message, an optional detail and optional
 * response headers (`Range`, `WWW-Authenticate`).
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    opts: RegistryErrorOptions = {},
  ) {
    super(opts.message ?? CODES[code].message, { cause: opts.cause });
    this.status = opts.status ?? CODES[code].status;
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
  }

  /** The spec's JSON body for this error: `{"errors":[{code,message,detail}]}`. */
  toJSON(): { errors: { code: ErrorCode; message: string; detail: unknown }[] } {
    return { errors: [{ code: this.code, message: this.message, detail: this.detail ?? {} }] };
  }
}
