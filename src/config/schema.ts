/**
 * The configuration schema (zod), in the shape CNCF Distribution's users know
 * (https://distribution.github.io/distribution/about/configuration/): `log.level`, `http.addr`,
 * `storage.<driver>`, `storage.delete.enabled`. Unknown keys are errors, so a typo is never ignored.
 */
import parseDuration from 'parse-duration';
import { z } from 'zod';

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

/** A duration as in CNCF Distribution's configuration (`90s`, `1h`, `1h30m`, `500ms`); the output is milliseconds. */
export const duration = z
  .string({ error: 'expected a duration such as 90s, 5m or 1h' })
  .regex(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/, 'expected a duration such as 90s, 5m or 1h (units ms, s, m, h)')
  .transform((v) => parseDuration(v) ?? 0);

/** The storage drivers Wharf has, each a key under `storage`; exactly one must be set. */
export const STORAGE_DRIVERS = ['filesystem', 'inmemory', 's3'] as const;

/** A whole number of bytes, also as the string an environment variable carries. */
const bytes = z.union([z.number(), z.string().regex(/^\d+$/, 'expected a number of bytes').transform(Number)], {
  error: 'expected a number of bytes, e.g. 10485760',
});

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
        idletimeout: duration.default(60_000),
      })
      .default({ addr: '0.0.0.0:5000', idletimeout: 60_000 }),
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
  });

/** The validated configuration, defaults applied. */
export type Config = z.output<typeof configSchema>;
