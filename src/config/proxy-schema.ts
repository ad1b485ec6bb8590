/**
 * The `proxy` section: the pull-through cache's upstream registries (docs/proxy.md). Keys follow
 * CNCF Distribution's `proxy.remoteurl/username/password/ttl`, widened to several upstreams:
 *
 * ```yaml
 * proxy:
 *   upstreams:
 *     - {name: dockerhub, url: https://registry-1.docker.io, prefix: dockerhub, default: true, tagttl: 1h}
 *     - {name: ghcr, url: https://ghcr.io, prefix: ghcr.io, username: bot, password: secret, tagttl: 10m}
 * ```
 *
 * Distribution's own shape (`proxy.remoteurl`, `username`, `password`) is read as one default
 * upstream whose prefix is the upstream's host; its `ttl` became a `gc.retention` rule before this
 * schema runs (src/config/distribution.ts, docs/proxy.md "Distribution's proxy section").
 */
import parseDuration from 'parse-duration';
import { z } from 'zod';
import { isRepositoryName } from '../oci/reference.js';
import { normalizeRegistry } from '../oci/image-reference.js';

/** Default of `tagttl`: 10 minutes, in ms. */
export const DEFAULT_TAG_TTL_MS = 10 * 60_000;

/** A duration (`90s`, `1h30m`) in ms, in the grammar of the rest of the configuration, at most a Node.js timer's reach. */
const duration = z
  .string({ error: 'expected a duration such as 30s, 10m or 1h' })
  .regex(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/, 'expected a duration such as 30s, 10m or 1h (units ms, s, m, h)')
  .transform((v) => parseDuration(v) ?? 0)
  .refine((v) => v <= 2 ** 31 - 1, 'must be at most 596h (the longest timer Node.js keeps)');

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'expected true or false' });

const positive = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: 'expected a whole number, e.g. 16' }).pipe(
  z.number().int('expected a whole number').min(1, 'must be at least 1').max(1024, 'must be at most 1024'),
);

/** An upstream's URL: `http(s)://host[:port]`, nothing after the host (no path, query or credentials). */
const origin = z.string({ error: 'expected a URL such as https://registry-1.docker.io' }).superRefine((v, ctx) => {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL: write it as https://host[:port], e.g. https://registry-1.docker.io' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `the scheme must be http or https, not ${url.protocol.slice(0, -1)}` });
  else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'put credentials in username and password, not in the URL' });
  else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: `give the registry's origin only (${url.origin}): the API is always under /v2/` });
  }
});

const prefix = z
  .string({ error: 'expected a repository path such as dockerhub or mirror/ghcr.io' })
  .refine(isRepositoryName, 'must be a valid repository name (lowercase letters, digits, . _ -, components separated by /), e.g. dockerhub or ghcr.io');

const host = z
  .string({ error: 'expected a registry host such as docker.io' })
  .regex(/^[a-z0-9.-]+(?::\d{1,5})?$/, 'expected a registry host such as docker.io or registry.example.com:5000 (lowercase, no scheme)');

/** A username or password: a non-empty string (a YAML number is read as its digits, so a secret never appears in an error). */
const credential = z.union([z.string(), z.number().transform(String)], { error: 'expected a string' }).pipe(z.string().min(1, 'must not be empty'));

/** One upstream registry. */
const upstream = z
  .strictObject({
    /** a short name for logs, metrics and errors */
    name: z.string({ error: 'expected a name such as dockerhub' }).regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'use lowercase letters, digits and . _ - (e.g. dockerhub)'),
    url: origin,
    /** repositories under `<prefix>/` are this upstream's, e.g. `/v2/dockerhub/library/busybox/...` */
    prefix,
    /** names that match no pushed repository and no prefix go to this upstream (dockerd's registry-mirrors) */
    default: bool.default(false),
    /** the registry names containerd sends as `?ns=` for this upstream (default: the URL's host, docker.io for Docker Hub) */
    namespaces: z.array(host, { error: 'expected a list of registry hosts, e.g. [docker.io]' }).optional(),
    username: credential.optional(),
    password: credential.optional(),
    /** how long a cached tag is served before a HEAD asks the upstream whether it moved (ms) */
    tagttl: duration.default(DEFAULT_TAG_TTL_MS),
    /** requests in flight to this upstream at most (blob fills included); more wait */
    maxconnections: positive.default(16),
    /** how long a manifest, HEAD or token request to the upstream may take before it counts as failed, and a blob GET may wait for its answer to begin (ms) */
    timeout: duration.refine((v) => v >= 100, 'must be at least 100ms').default(30_000),
  })
  .refine((u) => (u.username === undefined) === (u.password === undefined), {
    message: 'set both username and password, or neither (anonymous access)',
  });

/**
 * The prefix Distribution's shape gets: the upstream's host, `docker.io` for Docker Hub, `:` as `-`
 * (`127.0.0.1:5001` -> `127.0.0.1-5001`).
 */
export function hostPrefix(url: string): string {
  return normalizeRegistry(url).replace(':', '-');
}

const wharfShape = z.strictObject({
  upstreams: z.array(upstream, { error: 'expected a list of upstreams, each {name, url, prefix, ...}' }).min(1, 'list at least one upstream'),
  /** how long an upstream's "not found" is remembered (ms) */
  negativettl: duration.default(30_000),
  /** how long one blob may take to arrive from its upstream before the fill is abandoned (ms) */
  filltimeout: duration.refine((v) => v >= 1000, 'must be at least 1s').default(3_600_000),
  /** fetch an image's config and layers as soon as its manifest is fetched from the upstream (a cold pull), not only when a client asks for each (off: see docs/proxy.md "Layer prefetch") */
  prefetch: bool.default(false),
});

/**
 * Distribution's shape (`remoteurl`, `username`, `password`, `ttl`) as Wharf's: one default upstream
 * named `remote` whose prefix is the upstream's host. `ttl` (Distribution's eviction) is dropped here:
 * adaptDistributionConfig made it a `gc.retention` `unpulledfor` rule. Any other value is left for validation.
 */
function fromDistributionShape(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('remoteurl' in value)) return value;
  const { remoteurl, ttl: _ttl, ...rest } = value as Record<string, unknown>;
  const prefix = typeof remoteurl === 'string' && URL.canParse(remoteurl) ? hostPrefix(remoteurl) : 'remote';
  return { upstreams: [{ name: 'remote', url: remoteurl, prefix, default: true, ...rest }] };
}

/** The `proxy` section, in Wharf's shape or Distribution's; the output is always Wharf's. */
export const proxySchema = z
  .preprocess(fromDistributionShape, wharfShape)
  .superRefine((p, ctx) => {
    const seen = (key: 'name' | 'prefix', what: string) => {
      const values = p.upstreams.map((u) => u[key]);
      values.forEach((v, i) => {
        if (values.indexOf(v) !== i) ctx.addIssue({ code: 'custom', path: ['upstreams', i, key], message: `${what} "${v}" is used by upstream ${values.indexOf(v)} too: make it unique` });
      });
    };
    seen('name', 'name');
    seen('prefix', 'prefix');
    p.upstreams.forEach((u, i) => {
      const nested = p.upstreams.findIndex((o, j) => j !== i && u.prefix.startsWith(`${o.prefix}/`));
      if (nested >= 0) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'prefix'], message: `"${u.prefix}" lies inside upstream ${nested}'s prefix "${p.upstreams[nested]!.prefix}": prefixes must not nest` });
    });
    const defaults = p.upstreams.flatMap((u, i) => (u.default ? [i] : []));
    if (defaults.length > 1) ctx.addIssue({ code: 'custom', path: ['upstreams', defaults[1]!, 'default'], message: `upstreams ${defaults.join(' and ')} are both default: at most one may be` });
    const claimed = new Map<string, number>();
    p.upstreams.forEach((u, i) => {
      for (const ns of u.namespaces ?? [normalizeRegistry(u.url)]) {
        const other = claimed.get(ns);
        if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'namespaces'], message: `namespace ${ns} is upstream ${other}'s too: give each registry name to one upstream` });
        claimed.set(ns, i);
      }
    });
  });

/** The validated `proxy` section. */
export type ProxyConfig = z.output<typeof proxySchema>;

/** One validated upstream (`proxy.upstreams[]`); durations in ms. */
export type UpstreamConfig = ProxyConfig['upstreams'][number];
