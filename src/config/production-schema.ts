/**
 * The configuration keys of running Wharf in production, with CNCF Distribution's names and meanings
 * (https://distribution.github.io/distribution/about/configuration/): `http.tls`, `http.host`,
 * `http.relativeurls`, `http.draintimeout`, `http.headers`, `http.debug` (the Prometheus endpoint), the
 * `health` section (the readiness probe) and the `notifications` section (webhooks).
 * Durations take Distribution's form too: `500ms`, `1s`, `1h30m`, or a bare integer of nanoseconds.
 */
import { z } from 'zod';

/** Go's duration units (time.ParseDuration) in milliseconds. */
const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The longest a timer waits in Node.js (about 24.8 days), in ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration as Distribution parses it (Go's `time.ParseDuration`, or an integer of nanoseconds), in
 * milliseconds; undefined when `v` is neither.
 */
export function parseGoDuration(v: unknown): number | undefined {
  if ((typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v))) return Number(v) / 1e6;
  if (typeof v !== 'string') return undefined;
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * GO_UNITS[p[2]!]!, 0);
}

/** {@link parseGoDuration} as a key, at most 24.8 days (the longest Node.js timer). */
export const goDuration = z
  .union([z.number().int().nonnegative(), z.string()], { error: 'expected a duration such as 500ms, 10s or 1m' })
  .transform((v, ctx) => {
    const ms = parseGoDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 10s or 1m (units ns, us, ms, s, m, h; a bare number is nanoseconds)' });
      return z.NEVER;
    }
    return ms;
  })
  .refine((v) => v <= MAX_TIMER_MS, 'must be at most 596h (the longest timer Node.js keeps)');

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'expected true or false' });
const path = z.string({ error: 'expected a file path' }).min(1, 'must not be empty');
const hostPort = z
  .string({ error: 'expected "host:port", e.g. 127.0.0.1:5001' })
  .regex(/^(?:\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected "host:port", e.g. 127.0.0.1:5001 or :5001');

/** HTTP header values in Distribution's form (`Name: [value, ...]`); a single string is taken as a list of one. */
/** An HTTP header value (RFC 9110 field-value: no line break or other control character but tab), refused here rather than by Node.js at every response or delivery. */
const headerValue = z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'expected an HTTP header value: no line break or control character');

const headerMap = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name'),
  z.union([headerValue.transform((v) => [v]), z.array(headerValue)], { error: 'expected a list of header values, e.g. [nosniff]' }),
);

/** `http.tls.minimumtls` values and the Node.js names of the versions. */
export const TLS_VERSIONS = { 'tls1.0': 'TLSv1', 'tls1.1': 'TLSv1.1', 'tls1.2': 'TLSv1.2', 'tls1.3': 'TLSv1.3' } as const;

/** `http.tls.clientauth` values (Go's tls.ClientAuthType names, as Distribution takes them). */
export const CLIENT_AUTH_MODES = ['request-client-cert', 'require-any-client-cert', 'verify-client-cert-if-given', 'require-and-verify-client-cert'] as const;

/** `http.tls`: the listener serves TLS with this certificate and key (re-read when the files change). */
const tlsSchema = z
  .strictObject({
    certificate: path.optional(),
    key: path.optional(),
    /** CA files (PEM) that client certificates must chain to */
    clientcas: z.array(path, { error: 'expected a list of CA files' }).optional(),
    clientauth: z.enum(CLIENT_AUTH_MODES, { error: `expected one of ${CLIENT_AUTH_MODES.join(', ')}` }).default('require-and-verify-client-cert'),
    minimumtls: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS], { error: 'expected tls1.0, tls1.1, tls1.2 or tls1.3' }).default('tls1.2'),
    /** Go's (IANA) cipher suite names */
    ciphersuites: z.array(z.string(), { error: 'expected a list of cipher suite names' }).optional(),
  })
  .refine((t) => (t.certificate === undefined) === (t.key === undefined), { message: 'set both certificate and key (PEM files), or neither' });

/** The keys this module adds to the `http` section. */
export const productionHttpKeys = {
  /** the externally reachable URL of the registry (`https://registry.example.com`): Location headers and event URLs are built from it */
  host: z.url({ error: 'expected a URL such as https://registry.example.com', protocol: /^https?$/ }).optional(),
  /** true: Location headers are paths; false: absolute URLs (from `host`, else from the request) */
  relativeurls: bool.optional(),
  /** on SIGTERM/SIGINT, how long requests in flight may take to finish (ms) */
  draintimeout: goDuration.default(30_000),
  /** headers added to every response */
  headers: headerMap.optional(),
  tls: tlsSchema.optional(),
  /** the debug listener: Prometheus metrics and health, never on the public address */
  debug: z
    .strictObject({
      addr: hostPort,
      prometheus: z
        .strictObject({ enabled: bool.default(false), path: z.string().regex(/^\/[\w./-]*$/, 'expected a path such as /metrics').default('/metrics') })
        .default({ enabled: false, path: '/metrics' }),
    })
    .optional(),
};

/** `health`: the readiness probe's checks. */
export const healthSchema = z.strictObject({
  storagedriver: z
    .strictObject({
      /** probe the storage (a write and a delete) every `interval`; false: readiness ignores the storage */
      enabled: bool.default(true),
      interval: goDuration.refine((v) => v >= 100, 'must be at least 100ms').default(10_000),
      /** consecutive failed probes before the storage counts as unavailable */
      threshold: z.number({ error: 'expected a whole number, e.g. 3' }).int().min(1, 'must be at least 1').default(1),
    })
    .default({ enabled: true, interval: 10_000, threshold: 1 }),
  /** readiness fails while one of these files exists (take a replica out of rotation by creating it) */
  file: z.array(z.strictObject({ file: path, interval: goDuration.optional() }), { error: 'expected a list of {file: PATH}' }).default([]),
});

const endpointName = z.string({ error: 'expected a name' }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a name of letters, digits, . _ - (at most 100, first a letter or digit)');

/** One `notifications.endpoints[]` entry. */
const endpointSchema = z
  .strictObject({
    name: endpointName,
    disabled: bool.default(false),
    url: z.url({ error: 'expected an http:// or https:// URL', protocol: /^https?$/ }),
    headers: headerMap.default({}),
    timeout: goDuration.refine((v) => v > 0, 'must be longer than 0s').default(1000),
    /** consecutive failures before the delivery backs off */
    threshold: z.number({ error: 'expected a whole number, e.g. 10' }).int().min(1).default(10),
    /** the first back-off; each further back-off doubles, up to 5 minutes */
    backoff: goDuration.refine((v) => v > 0, 'must be longer than 0s').default(1000),
    ignoredmediatypes: z.array(z.string()).default([]),
    ignore: z
      .strictObject({
        mediatypes: z.array(z.string()).default([]),
        actions: z.array(z.enum(['pull', 'push', 'delete', 'mount'], { error: 'expected pull, push, delete or mount' })).default([]),
      })
      .default({ mediatypes: [], actions: [] }),
    /** the HMAC key of the signature headers (Wharf's key: Distribution signs nothing) */
    secret: z.string().min(16, 'use at least 16 characters').optional(),
    /** a file holding the HMAC key (e.g. a mounted Kubernetes secret), instead of `secret` */
    secretfile: path.optional(),
  })
  .refine((e) => e.secret === undefined || e.secretfile === undefined, { message: 'set secret or secretfile, not both' });

/** `notifications`. */
export const notificationsSchema = z
  .strictObject({
    events: z.strictObject({ includereferences: bool.default(false) }).default({ includereferences: false }),
    endpoints: z.array(endpointSchema, { error: 'expected a list of endpoints' }).default([]),
  })
  .refine((n) => new Set(n.endpoints.map((e) => e.name)).size === n.endpoints.length, { message: 'two endpoints have the same name: give each its own' });

/** The validated `notifications` section. */
export type NotificationsConfig = z.output<typeof notificationsSchema>;

/** One validated notification endpoint. */
export type EndpointConfig = NotificationsConfig['endpoints'][number];

/** The validated `health` section. */
export type HealthConfig = z.output<typeof healthSchema>;
