/**
 * CNCF Distribution's `config.yml` as Wharf reads it: every key Wharf implements means what it means
 * in Distribution (https://distribution.github.io/distribution/about/configuration/); a key Wharf
 * does not implement is accepted with one start-up warning that says what Wharf does instead; a value
 * whose loss would change the registry's behaviour without anyone noticing (a read-only registry that
 * would accept pushes, a cache that would accept pushes, encryption that would not happen) stops
 * start-up with a {@link ConfigError}. A few keys are translated to Wharf's names (`loglevel`,
 * `storage.s3.regionendpoint`, token authentication with an external issuer).
 */
import { parseGoDuration } from './production-schema.js';
import { hostPrefix } from './proxy-schema.js';
import type { ConfigWarning } from './warnings.js';

type Tree = Record<string, unknown>;

/** A value that would silently change behaviour: start-up stops with this message. */
export class DistributionConfigError extends Error {
  override readonly name = 'DistributionConfigError';
}

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function at(tree: Tree, path: string): unknown {
  return path.split('.').reduce<unknown>((node, k) => (isTree(node) ? node[k] : undefined), tree);
}

function remove(tree: Tree, path: string): void {
  const keys = path.split('.');
  const parent = keys.length === 1 ? tree : at(tree, keys.slice(0, -1).join('.'));
  if (isTree(parent)) delete parent[keys.at(-1)!];
}

function set(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const k of keys.slice(0, -1)) node = (isTree(node[k]) ? node[k] : (node[k] = {})) as Tree;
  node[keys.at(-1)!] = value;
}

const truthy = (v: unknown): boolean => v === true || v === 'true';

/** Distribution keys Wharf accepts and ignores, with what Wharf does instead. */
const IGNORED: Record<string, string> = {
  'log.fields': 'Wharf writes JSON log lines without extra fields; add them in the log shipper',
  'log.formatter': 'Wharf always writes JSON log lines (one object per line)',
  'log.accesslog': 'Wharf logs one JSON line per request at level info; set log.level: warn to leave them out',
  'log.hooks': 'Wharf sends no mail; alert on its level-50 (error) log lines instead',
  'storage.cache': 'Wharf keeps manifests and blob metadata in a cache of its own process and needs no Redis or blob descriptor cache',
  'storage.maintenance.uploadpurging': 'Wharf deletes abandoned upload sessions in each garbage collection run (gc.uploadpurge.age, gc.interval)',
  'storage.tag': 'Wharf reads tags with a concurrency of its own',
  'storage.redirect': 'Wharf serves blob bytes itself unless storage.s3.redirect is true',
  'storage.s3.secure': 'Wharf takes the scheme from storage.s3.endpoint',
  'storage.s3.v4auth': 'Wharf always signs S3 requests with Signature Version 4',
  'storage.s3.multipartcopychunksize': 'Wharf copies on the S3 side in parts of its own size',
  'storage.s3.multipartcopymaxconcurrency': 'Wharf copies on the S3 side with a concurrency of its own',
  'storage.s3.multipartcopythresholdsize': 'Wharf copies on the S3 side with a threshold of its own',
  'storage.s3.loglevel': 'Wharf logs S3 failures at its own log.level',
  'storage.s3.usedualstack': 'Wharf uses storage.s3.endpoint as given',
  'storage.s3.accelerate': 'Wharf uses storage.s3.endpoint as given',
  'storage.s3.storageclass': 'Wharf writes objects in the bucket default storage class',
  'storage.s3.objectacl': 'Wharf writes objects with the bucket default ACL',
  'storage.s3.skipverify': 'Wharf verifies the S3 endpoint certificate against the system CAs (NODE_EXTRA_CA_CERTS adds one)',
  'http.secret': 'Wharf keeps upload state in storage and needs no shared secret',
  'http.http2': 'Wharf serves HTTP/1.1, over TLS too',
  'http.h2c': 'Wharf serves HTTP/1.1 only; let the load balancer speak HTTP/1.1 to it',
  'http.net': 'Wharf listens on TCP (http.addr)',
  'http.prefix': 'Wharf serves the API at the root path',
  'redis': 'Wharf needs no Redis: its caches live in its own process and its shared state in the storage',
  'health.http': 'Wharf /readyz checks the storage and health.file only',
  'health.tcp': 'Wharf /readyz checks the storage and health.file only',
  'catalog': 'Wharf answers _catalog in pages of the client n (all repositories without n)',
  'tags': 'Wharf answers tags/list in pages of the client n (all tags without n)',
  'validation': 'Wharf validates manifests by its own rules (docs/production.md, "Migrating from Distribution")',
  'reporting': 'Wharf reports to no error service; watch its log and /metrics',
  'compatibility': 'Wharf refuses Docker schema 1 manifests',
  'policy': 'Wharf grants access through auth.acl',
  'auth.token.autoredirect': 'Wharf builds the realm from auth.token.realm',
  'auth.token.signingalgorithms': 'Wharf accepts the algorithms of the keys it trusts',
};

/** Keys whose value would change behaviour silently: start-up stops unless `fine(value)`. */
const REFUSED: { key: string; fine: (v: unknown) => boolean; why: string }[] = [
  { key: 'storage.maintenance.readonly', fine: (v) => !isTree(v) || !truthy(v.enabled), why: 'Wharf has no read-only mode and would accept pushes; remove it (stop pushes with auth.acl) ' },
  { key: 'middleware', fine: () => false, why: 'Wharf has no middleware: a storage, registry or repository middleware would be skipped (e.g. CloudFront would not serve the blobs)' },
  { key: 'auth.silly', fine: () => false, why: 'Wharf has no "silly" authentication: every request would be let through; use auth.htpasswd or auth.token' },
  { key: 'http.tls.letsencrypt', fine: () => false, why: 'Wharf gets no certificates from Let\'s Encrypt and would serve plain HTTP; set http.tls.certificate and http.tls.key (e.g. from certbot)' },
  { key: 'http.net', fine: (v) => v === 'tcp' || v === '', why: 'Wharf listens on TCP only' },
  { key: 'http.prefix', fine: (v) => v === '' || v === '/', why: 'Wharf serves the API at the root path; strip the prefix in the reverse proxy' },
  { key: 'http.h2c', fine: (v) => !isTree(v) || !truthy(v.enabled), why: 'Wharf serves no cleartext HTTP/2; let the load balancer speak HTTP/1.1' },
  { key: 'storage.s3.encrypt', fine: (v) => !truthy(v), why: 'Wharf does not ask S3 for server-side encryption; set default encryption on the bucket and remove the key' },
  { key: 'storage.s3.keyid', fine: () => false, why: 'Wharf does not ask S3 for server-side encryption with a KMS key; set default encryption on the bucket and remove the key' },
  ...['azure', 'gcs', 'swift', 'oss'].map((d) => ({ key: `storage.${d}`, fine: () => false, why: `Wharf has no ${d} storage driver (it has filesystem, s3 and inmemory)` })),
];

/**
 * Translates a Distribution configuration tree to Wharf's keys in place: Distribution's names Wharf
 * spells differently are renamed, ignored keys removed.
 * @returns one warning per ignored key, and, when there was any, one more if `storage.delete` is not set
 *   (Distribution's default is false, Wharf's true)
 * @throws DistributionConfigError for a value Wharf cannot honour (see {@link REFUSED})
 */
export function adaptDistributionConfig(tree: Tree): ConfigWarning[] {
  for (const r of REFUSED) {
    const value = at(tree, r.key);
    if (value !== undefined && !r.fine(value)) {
      throw new DistributionConfigError(`config key "${r.key}" = ${JSON.stringify(value)}: ${r.why.trim()}`);
    }
  }
  if (at(tree, 'storage.maintenance.readonly') !== undefined) remove(tree, 'storage.maintenance.readonly');
  translate(tree);
  const warnings: ConfigWarning[] = proxyTtl(tree);
  for (const [key, instead] of Object.entries(IGNORED)) {
    if (at(tree, key) === undefined) continue;
    warnings.push({ key, message: `is a CNCF Distribution key that Wharf does not implement, ignored: ${instead}` });
    remove(tree, key);
  }
  const maintenance = at(tree, 'storage.maintenance');
  if (isTree(maintenance) && Object.keys(maintenance).length === 0) remove(tree, 'storage.maintenance');
  // a file with Distribution's own keys is a Distribution config, whose author expects deletes off
  if (warnings.length > 0 && isTree(tree.storage) && at(tree, 'storage.delete.enabled') === undefined) {
    warnings.push({ key: 'storage.delete.enabled', message: 'is not set: Wharf allows deletes by default (CNCF Distribution refuses them); set it to false to refuse them' });
  }
  return warnings;
}

/** Renames Distribution's spellings to Wharf's: `loglevel`, `log.level: panic`, `storage.s3.regionendpoint`, an external token issuer. */
function translate(tree: Tree): void {
  if (tree.loglevel !== undefined) {
    if (at(tree, 'log.level') === undefined) set(tree, 'log.level', tree.loglevel);
    delete tree.loglevel;
  }
  if (at(tree, 'log.level') === 'panic') set(tree, 'log.level', 'fatal');
  const s3 = at(tree, 'storage.s3');
  if (isTree(s3) && s3.regionendpoint !== undefined) {
    s3.endpoint ??= s3.regionendpoint;
    delete s3.regionendpoint;
  }
  const token = at(tree, 'auth.token');
  if (isTree(token) && (token.rootcertbundle !== undefined || token.jwks !== undefined) && token.external === undefined) {
    // Distribution's token auth trusts an external issuer: Wharf's auth.token.external
    token.external = {
      realm: token.realm,
      issuer: token.issuer,
      ...(token.rootcertbundle !== undefined ? { certificates: token.rootcertbundle } : { jwks: token.jwks }),
    };
    for (const k of ['realm', 'issuer', 'rootcertbundle', 'jwks']) delete token[k];
  }
}

const remembered = new WeakMap<object, ConfigWarning[]>();

/** Keeps the warnings {@link adaptDistributionConfig} gave for the configuration `config` was validated from. */
export function rememberWarnings(config: object, warnings: ConfigWarning[]): void {
  remembered.set(config, warnings);
}

/** The warnings {@link adaptDistributionConfig} gave for `config` ([] for a configuration built otherwise). */
export function distributionWarnings(config: object): ConfigWarning[] {
  return remembered.get(config) ?? [];
}

/** Distribution's eviction default (`proxy.ttl` unset): 7 days, in ms. */
const DISTRIBUTION_PROXY_TTL_MS = 168 * 3_600_000;

/**
 * Distribution's `proxy.ttl` (with `proxy.remoteurl`: its one upstream, see proxy-schema.ts) as
 * Wharf's eviction: a `gc.retention` rule over the upstream's prefix that evicts cached tags nobody
 * pulled for `ttl` (Distribution deletes what it cached `ttl` after caching it, pulled or not,
 * distribution#2367), with `gc.interval` set when it is not, so that the collections that apply it
 * run as Distribution's scheduler does. Unset, `ttl` is Distribution's 168h; `0` keeps everything.
 * @returns one warning saying what `ttl` became
 * @throws DistributionConfigError when `ttl` is not a duration
 */
function proxyTtl(tree: Tree): ConfigWarning[] {
  const proxy = at(tree, 'proxy');
  if (!isTree(proxy) || typeof proxy.remoteurl !== 'string' || !URL.canParse(proxy.remoteurl)) return [];
  const given = proxy.ttl;
  delete proxy.ttl;
  const ttlMs = given === undefined ? DISTRIBUTION_PROXY_TTL_MS : parseGoDuration(given);
  if (ttlMs === undefined) {
    throw new DistributionConfigError(`config key "proxy.ttl" = ${JSON.stringify(given)}: expected a duration such as 168h (how long a cached image is kept without a pull; 0 keeps them all)`);
  }
  const what = given === undefined ? 'is not set (CNCF Distribution then evicts after 168h)' : `= ${JSON.stringify(given)}`;
  if (ttlMs === 0) return [{ key: 'proxy.ttl', message: `${what}: cached images are kept until deleted by hand` }];
  const name = `${hostPrefix(proxy.remoteurl)}/**`;
  const rule = { name, unpulledfor: `${Math.round(ttlMs)}ms`, deleteuntagged: true };
  const retention = at(tree, 'gc.retention');
  set(tree, 'gc.retention', [...(Array.isArray(retention) ? retention : []), rule]);
  let interval = '';
  if (at(tree, 'gc.interval') === undefined) {
    const ms = Math.min(Math.max(ttlMs, 3_600_000), 24 * 3_600_000);
    set(tree, 'gc.interval', `${ms}ms`);
    interval = `; gc.interval was not set: garbage collection runs every ${ms / 3_600_000}h to apply it`;
  }
  return [
    {
      key: 'proxy.ttl',
      message:
        `${what}: read as the retention rule {name: "${name}", unpulledfor: ${ttlMs / 3_600_000}h, deleteuntagged: true}: ` +
        `cached tags nobody pulled for that long are evicted, with what only they use (Distribution evicts them that long after caching, pulled or not)${interval}`,
    },
  ];
}
