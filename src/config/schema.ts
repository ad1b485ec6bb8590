/**
 * The configuration schema (zod), in the shape CNCF Distribution's users know
 * (https://distribution.github.io/distribution/about/configuration/): `log.level`, `http.addr`,
 * `storage.<driver>`, `storage.delete.enabled`; and Wharf's `gc` section. Unknown keys are errors, so a typo is never ignored.
 */
import parseDuration from 'parse-duration';
import picomatch from 'picomatch';
import { RE2JS } from 're2js';
import { z } from 'zod';
import { authSchema } from './auth-schema.js';
import { healthSchema, notificationsSchema, productionHttpKeys } from './production-schema.js';
import { proxySchema } from './proxy-schema.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `true`/`false`, also as the strings an environment variable carries. */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: 'expected true or false',
});

/** `host:port` or `:port`, port 0-65535 (0 picks a free port). */
const hostPort = z
  .string({ error: 'expected "host:port", e.g. 0.0.0.0:5000' })
  .regex(/^(?:\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, { message: 'expected "host:port", e.g. 0.0.0.0:5000 or 127.0.0.1:5001', abort: true })
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0-65535');

/** The longest duration any key accepts: 876000h (100 years), in ms; far below Number.MAX_SAFE_INTEGER, so times and sums stay exact. */
export const MAX_DURATION_MS = 876_000 * 3_600_000;

/** The longest a Node.js timer waits (2^31-1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration as in CNCF Distribution's configuration (`90s`, `1h`, `1h30m`, `500ms`), at most {@link MAX_DURATION_MS}; the output is milliseconds. */
export const duration = z
  .string({ error: 'expected a duration such as 90s, 5m or 1h' })
  .regex(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/, 'expected a duration such as 90s, 5m or 1h (units ms, s, m, h)')
  .transform((v) => parseDuration(v) ?? 0)
  .refine((v) => v <= MAX_DURATION_MS, 'must be at most 876000h (100 years): use a shorter duration');

/** A {@link duration} a timer waits for, at most {@link MAX_TIMER_MS}. */
const timerDuration = duration.refine((v) => v <= MAX_TIMER_MS, 'must be at most 596h (24.8 days, the longest timer Node.js keeps): use a shorter duration');

/** A byte count: a positive integer, also as the string an environment variable carries. */
const bytes = z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,14}$/).transform(Number)], {
  error: 'expected a positive whole number of bytes, e.g. 10737418240 for 10 GiB',
});

/** Default of `admin.index.poll`: 2 s. */
export const DEFAULT_INDEX_POLL_MS = 2000;
/** Default of `admin.index.rebuild`: a day. */
export const DEFAULT_INDEX_REBUILD_MS = 24 * 3_600_000;

/** Default of `admin.import.maxbytes`: 10 GiB. */
export const DEFAULT_IMPORT_MAX_BYTES = 10 * 1024 ** 3;

/**
 * A regular expression in RE2 syntax (https://github.com/google/re2/wiki/Syntax), kept as its source
 * text and matched by re2js in time linear in the input, so no pattern can stall a run with
 * catastrophic backtracking. Lookarounds and backreferences, which need backtracking, are refused.
 */
const regex = z.string({ error: 'expected a regular expression, e.g. "^(main|v[0-9].*)$"' }).superRefine((v, ctx) => {
  try {
    RE2JS.compile(v);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `not a valid regular expression in RE2 syntax (${(err as Error).message}): fix the pattern; lookarounds and backreferences are not supported`,
    });
  }
});

/** A count: a non-negative integer, also as the string an environment variable carries. */
const count = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: 'expected a whole number, e.g. 10' }).pipe(
  z.number().int('expected a whole number, e.g. 10').min(0, 'must be 0 or more'),
);

/** True when picomatch can compile `v`, its brackets, braces and parentheses balanced. */
function isGlob(v: string): boolean {
  try {
    picomatch.makeRe(v, { strictBrackets: true });
    return true;
  } catch {
    return false;
  }
}

/** One retention policy (`gc.retention[]`): which tags of the repositories matching `name` are deleted before a garbage collection. */
const retentionRule = z.strictObject({
  /** a glob over repository names (picomatch: `*` stays within one path component, `**` crosses them) */
  name: z
    .string({ error: 'expected a repository glob, e.g. "ci/*"' })
    .min(1, 'must not be empty')
    .refine(isGlob, 'not a valid glob (an unclosed or unopened [ ], { } or ( )): fix it, or escape the character with \\'),
  /** keep this many most recently pushed tags */
  keeplast: count.optional(),
  /** keep tags matching this regular expression (RE2 syntax, linear-time matching) */
  keeptags: regex.optional(),
  /** delete tags pushed longer ago than this */
  olderthan: duration.optional(),
  /** delete tags not pulled for this long (pulls are recorded at most once an hour per tag: a pull-through cache's eviction) */
  unpulledfor: duration.optional(),
  /** delete the repository's untagged manifests, as gc.deleteuntagged does for every repository */
  deleteuntagged: bool.optional(),
});

/** The storage drivers Wharf has, each a key under `storage`; exactly one must be set. */
export const STORAGE_DRIVERS = ['filesystem', 'inmemory', 's3'] as const;

const MiB = 1024 * 1024;

/**
 * `storage.s3`, in CNCF Distribution's shape (its `regionendpoint` is `endpoint` here; its
 * `storage.redirect.disable` is `redirect` + `redirectexpiry` here). Credentials come from
 * `accesskey`/`secretkey`, or else from the AWS default chain.
 */
const s3Schema = z
  .strictObject({
    bucket: z.string({ error: 'expected the bucket name' }).min(3, 'a bucket name has at least 3 characters'),
    region: z.string().min(1, 'must not be empty').default('us-east-1'),
    endpoint: z.url({ error: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
    forcepathstyle: bool.default(false),
    accesskey: z.string().min(1, 'must not be empty').optional(),
    secretkey: z.string().min(1, 'must not be empty').optional(),
    rootdirectory: z
      .string()
      .regex(/^\/?(?:[A-Za-z0-9._-]+\/?)*$/, 'expected a key prefix such as registry or /registry/v2 (components of A-Z a-z 0-9 . _ -)')
      .default(''),
    /** bytes per part of multipart writes */
    chunksize: bytes.pipe(z.number().int().min(5 * MiB, 'S3 parts are at least 5 MiB (5242880)').max(5 * 1024 * MiB, 'S3 parts are at most 5 GiB')).default(10 * MiB),
    /** the store's limit of parts per multipart upload: part sizes grow so that no upload needs more (AWS: 10,000; some stores: 1,000) */
    maxparts: count.pipe(z.number().min(10, 'at least 10').max(10_000, 'S3 allows at most 10,000 parts')).default(10_000),
    /** blob GETs answer 307 to a presigned URL */
    redirect: bool.default(false),
    /** how long a presigned URL stays valid (ms after parsing; at most 7 days) */
    redirectexpiry: duration.pipe(z.number().min(1000, 'at least 1s').max(7 * 24 * 3600 * 1000, 'at most 7 days (168h)')).default(20 * 60 * 1000),
  })
  .refine((s) => (s.accesskey === undefined) === (s.secretkey === undefined), {
    message: 'set both accesskey and secretkey, or neither (then the AWS default credential chain is used)',
  });

/** The whole configuration file. */
export const configSchema = z
  .strictObject({
    version: z.union([z.literal('0.1'), z.literal(0.1)], { error: 'the only configuration version is 0.1' }).optional(),
    log: z
      .strictObject({
        level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
      })
      .default({ level: 'info' }),
    http: z
      .strictObject({
        addr: hostPort.default('0.0.0.0:5000'),
        /** a connection on which nothing arrives or leaves for this long is closed (a stalled upload) */
        idletimeout: timerDuration.default(60_000),
        /** a request whose headers are not all in within this long is answered 408 and closed */
        headertimeout: timerDuration.refine((v) => v > 0, 'must be longer than 0s').default(60_000),
        /** a request body that arrives slower than this (bytes per second) for longer than idletimeout is cut; 0: never */
        minbodyrate: count.default(1024),
        ...productionHttpKeys,
      })
      .default({ addr: '0.0.0.0:5000', idletimeout: 60_000, headertimeout: 60_000, minbodyrate: 1024, draintimeout: 30_000 }),
    storage: z
      .strictObject({
        filesystem: z.strictObject({ rootdirectory: z.string({ error: 'expected a directory path' }).min(1, 'must not be empty') }).optional(),
        inmemory: z.union([z.strictObject({}), z.null()]).optional(),
        s3: s3Schema.optional(),
        delete: z.strictObject({ enabled: bool.default(true) }).default({ enabled: true }),
      })
      .refine((s) => STORAGE_DRIVERS.filter((d) => s[d] !== undefined).length === 1, {
        message: `set exactly one storage driver: ${STORAGE_DRIVERS.join(' or ')}`,
      }),
    admin: z
      .strictObject({
        /** `POST /admin/v1/import`: the largest tarball accepted, in bytes (413 beyond) */
        import: z.strictObject({ maxbytes: bytes.default(DEFAULT_IMPORT_MAX_BYTES) }).default({ maxbytes: DEFAULT_IMPORT_MAX_BYTES }),
        /** without an `auth` section: let clients other than loopback ones call the admin API and DELETE manifests, tags and blobs */
        allowremote: bool.default(false),
        /** the admin index (docs/admin-api.md "The index") */
        index: z
          .strictObject({
            /** how often other processes' changes are read from the index's journal (ms): the bound on their staleness */
            poll: timerDuration.refine((v) => v >= 100, 'must be at least 100ms').default(DEFAULT_INDEX_POLL_MS),
            /** how often the whole registry is walked again, correcting changes made behind every process's back (ms) */
            rebuild: timerDuration.refine((v) => v >= 60_000, 'must be at least 1m').default(DEFAULT_INDEX_REBUILD_MS),
          })
          .default({ poll: DEFAULT_INDEX_POLL_MS, rebuild: DEFAULT_INDEX_REBUILD_MS }),
      })
      .default({ import: { maxbytes: DEFAULT_IMPORT_MAX_BYTES }, allowremote: false, index: { poll: DEFAULT_INDEX_POLL_MS, rebuild: DEFAULT_INDEX_REBUILD_MS } }),
    /** token or Basic authentication, users and access rules; absent: no authentication */
    auth: authSchema.optional(),
    /** the pull-through cache's upstreams (docs/proxy.md); absent: no pull-through */
    proxy: proxySchema.optional(),

    /** the readiness probe (docs/production.md) */
    health: healthSchema.default({ storagedriver: { enabled: true, interval: 10_000, threshold: 1 }, file: [] }),
    /** webhooks (docs/production.md) */
    notifications: notificationsSchema.default({ events: { includereferences: false }, endpoints: [] }),

    /** garbage collection and retention (docs/garbage-collection.md) */
    gc: z
      .strictObject({
        /** nothing younger than this is swept (ms); 0 is allowed */
        grace: duration.default(3_600_000),
        /** delete manifests that no tag (and no kept index or subject) reaches */
        deleteuntagged: bool.default(false),
        /** run retention and GC this often in `wharf serve` (ms); absent = only on demand */
        interval: timerDuration.refine((v) => v > 0, 'must be longer than 0s; leave it out for on-demand runs only').optional(),
        uploadpurge: z
          .strictObject({
            /** upload sessions with no activity for this long are deleted (ms) */
            age: duration.default(86_400_000),
          })
          .default({ age: 86_400_000 }),
        retention: z.array(retentionRule, { error: 'expected a list of retention rules' }).default([]),
      })
      .default({ grace: 3_600_000, deleteuntagged: false, uploadpurge: { age: 86_400_000 }, retention: [] }),
  });

/** The validated configuration, defaults applied. */
export type Config = z.output<typeof configSchema>;

/** One validated retention rule (`gc.retention[]`); durations in ms. */
export type RetentionRule = Config['gc']['retention'][number];
