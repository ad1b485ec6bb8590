/**
 * `wharf cache warm [--registry HOST] [--platform OS/ARCH]... REF...`: asks a running Wharf to fetch
 * images into its pull-through cache ahead of time (`POST /admin/v1/cache/warm`, docs/proxy.md
 * "Prefetch"), e.g. the base images of a busy CI window. Credentials are the ones `wharf login` and
 * `docker login` keep (an admin account when the registry has authentication). Prints one line per
 * reference; exits 1 when any failed.
 */
import { json } from 'node:stream/consumers';
import { ClientError, DockerCredentials, RegistryClient, RegistryClientError } from '../client/index.js';
import type { WarmReport } from '../proxy/warm.js';
import { CommandFailure } from './client-common.js';
import { describeError } from './client-errors.js';

/** Options of {@link cacheWarm}. */
export interface CacheWarmOptions {
  /** the Wharf to warm, host[:port] (default localhost:5000; a failure there then names --registry) */
  registry?: string;
  /** `os/arch[/variant]` of the images to fetch from an index (default all) */
  platform?: string[];
  /** reach the registry over plain HTTP although its name is not loopback */
  insecure?: boolean;
}

/**
 * Warms `references` and writes one line per reference to `out`.
 * @returns the exit status: 0 when every reference is cached, 1 otherwise
 * @throws CommandFailure, one line, when the registry cannot be reached or refuses the request (no admin right, no proxy section)
 */
export async function cacheWarm(references: string[], options: CacheWarmOptions = {}, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const registry = options.registry ?? 'localhost:5000';
  const client = new RegistryClient({ credentials: new DockerCredentials(), insecure: options.insecure ? [registry] : [], retry: { retries: 0 } });
  try {
    const res = await client.request(registry, ['registry:admin:*'], {
      method: 'POST',
      path: '/admin/v1/cache/warm',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ references, ...(options.platform?.length ? { platforms: options.platform } : {}) }),
      expect: [200],
      retry: false,
    });
    const { results } = (await json(res.body)) as { results: WarmReport[] };
    let failed = 0;
    for (const r of results) {
      if (r.error) {
        failed += 1;
        out.write(`failed  ${r.reference}: ${r.error}\n`);
      } else {
        const fetched = r.fetched === 0 ? 'all already cached' : `${r.fetched} fetched (${formatBytes(r.bytes)})`;
        out.write(`cached  ${r.reference} as ${r.repository}@${r.digest}: ${r.manifests} manifests, ${r.blobs} blobs, ${fetched}\n`);
      }
    }
    return failed === 0 ? 0 : 1;
  } catch (err) {
    if (err instanceof ClientError && err.code === 'CREDENTIALS' && !err.hint) err.hint = `run wharf login ${registry} with an admin account`;
    const line = describeError(err, { registry });
    throw new CommandFailure(`cache warm: ${line}${options.registry === undefined && noCacheThere(err) ? `; no --registry was given, so this asked ${registry}: name the Wharf with the cache with --registry HOST:PORT` : ''}`, { cause: err });
  } finally {
    await client.close();
  }
}

/** True when `err` says the registry asked has no cache or is not there (404, no connection, unknown host), not a refusal of the account. */
function noCacheThere(err: unknown): boolean {
  if (err instanceof RegistryClientError) return err.status === 404;
  return err instanceof ClientError && (err.code === 'CONNECTION_FAILED' || err.code === 'HOST_UNKNOWN');
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
