/**
 * The configuration schema (zod), in the shape CNCF Distribution's users know
 * (https://distribution.github.io/distribution/about/configuration/): `log.level`, `http.addr`,
 * `storage.<driver>`, `storage.delete.enabled`. Unknown keys are errors, so a typo is never ignored.
 */
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `true`/`false`, also as the strings an environment variable carries. */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: 'expected true or false',
});

/** `host:port` or `:port`, port 0-65535 (0 picks a free port). */
const hostPort = z
  .string({ error: 'expected "host:port", e.g. 0.0.0.0:5000' })
  .regex(/^(?:\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected "host:port", e.g. 0.0.0.0:5000 or 127.0.0.1:5001')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0-65535');

/** The storage drivers Wharf has, each a key under `storage`; exactly one must be set. */
export const STORAGE_DRIVERS = ['filesystem', 'inmemory'] as const;

/** The whole configuration file. */
export const configSchema = z
  .strictObject({
    version: z.union([z.string(), z.number()]).optional(),
    log: z
      .strictObject({
        level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
      })
      .default({ level: 'info' }),
    http: z.strictObject({ addr: hostPort }).default({ addr: '0.0.0.0:5000' }),
    storage: z
      .strictObject({
        filesystem: z.strictObject({ rootdirectory: z.string({ error: 'expected a directory path' }).min(1, 'must not be empty') }).optional(),
        inmemory: z.union([z.strictObject({}), z.null()]).optional(),
        delete: z.strictObject({ enabled: bool.default(true) }).default({ enabled: true }),
      })
      .refine((s) => STORAGE_DRIVERS.filter((d) => s[d] !== undefined).length === 1, {
        message: `set exactly one storage driver: ${STORAGE_DRIVERS.join(' or ')}`,
      }),
  });

/** The validated configuration, defaults applied. */
export type Config = z.output<typeof configSchema>;
