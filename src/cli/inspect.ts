/**
 * `wharf inspect REF`: the manifest's digest and media type; for an index its platforms; for an
 * image its config (platform, created, entrypoint) and layer sizes. `--raw` prints the manifest's
 * exact bytes; `--json` one object.
 */
import { fetchBlob } from '../client/blob-download.js';
import type { RegistryClient } from '../client/registry-client.js';
import { parse } from '../client/image/copy.js';
import { formatReference, type ImageReference } from '../oci/image-reference.js';
import type { Descriptor } from '../oci/manifest.js';
import { formatPlatform } from '../oci/platform.js';
import { CommandFailure, location, runClientCommand, type ClientOptions } from './client-common.js';
import { formatBytes } from './progress.js';

/** Options of `wharf inspect`. */
export interface InspectOptions extends ClientOptions {
  raw?: boolean;
}

/** Describes REF. @throws CommandFailure */
export async function inspect(reference: string, options: InspectOptions): Promise<void> {
  const at = location(reference);
  if (at.kind !== 'registry') throw new CommandFailure(`REF must be an image reference, not ${reference}`);
  await runClientCommand(options, [at.ref.registry], async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: at.ref.repository, reference: at.ref.digest ?? at.ref.tag });
    const m = await client.getManifest(at.ref, { signal });
    if (options.raw) return void process.stdout.write(m.bytes);
    const parsed = parse(m, formatReference(at.ref));
    const manifest = JSON.parse(m.bytes.toString('utf8')) as Record<string, unknown>;
    const result: Record<string, unknown> = { reference: formatReference(at.ref), digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, manifest };
    const lines = [`${formatReference(at.ref)}`, `  digest:     ${m.digest}`, `  media type: ${m.mediaType}`];
    if (parsed.kind === 'index') {
      result.platforms = parsed.manifests.map((d) => ({ platform: formatPlatform(d.platform), digest: d.digest, size: d.size }));
      lines.push('  platforms:', ...parsed.manifests.map((d) => `    ${formatPlatform(d.platform).padEnd(16)} ${d.digest}`));
    } else {
      const config = await imageConfig(client, at.ref, parsed.blobs[0]!, signal);
      result.config = config;
      const layers = (manifest.layers as { digest: string; size: number; mediaType: string }[] | undefined) ?? [];
      result.layers = layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
      const cfg = (config?.config ?? {}) as { Entrypoint?: string[]; Cmd?: string[] };
      lines.push(
        `  platform:   ${formatPlatform(config ?? undefined)}`,
        ...(config?.created ? [`  created:    ${String(config.created)}`] : []),
        ...(cfg.Entrypoint || cfg.Cmd ? [`  command:    ${JSON.stringify([...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])])}`] : []),
        `  layers:     ${layers.length} (${formatBytes(layers.reduce((n, l) => n + l.size, 0))})`,
        ...layers.map((l) => `    ${l.digest}  ${formatBytes(l.size).padStart(10)}`),
      );
    }
    reporter.print(lines.join('\n'), result);
  });
}

/** The image config blob as JSON (at most 4 MiB), or undefined when it is not JSON (an artifact). */
async function imageConfig(client: RegistryClient, ref: ImageReference, desc: Descriptor, signal: AbortSignal): Promise<Record<string, unknown> | undefined> {
  if (desc.size > 4 * 1024 * 1024) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of fetchBlob(client, ref, desc, { signal })) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
