/**
 * Where a built image goes, through the registry client's sinks and its one copy algorithm: the
 * registry of each `-t` reference (blobs the repository has are skipped after a HEAD, the base's
 * layers mounted from the base's repository when it is in the same registry, only the missing
 * layers uploaded; further tags of the same repository get the manifest only), and `oci:DIR`,
 * `oci-archive:FILE`, `docker-archive:FILE` outputs (written under a temporary name, renamed into
 * place).
 */
import { rangeStream } from '../client/blob-download.js';
import { copyImage, type CopyResult, type TransferEvent } from '../client/image/copy.js';
import { openSink, parseLocation, type ImageLocation } from '../client/image/locations.js';
import type { RegistryClient } from '../client/registry-client.js';
import type { ImageSink } from '../client/image/types.js';
import { formatReference, type ImageReference } from '../oci/image-reference.js';
import { BuildError } from './errors.js';
import { resultSource, type BuiltResult } from './image.js';

/** An output of `--output`: the registry (the -t references), or a file location. */
export type BuildOutput = { kind: 'registry' } | { kind: 'file'; location: ImageLocation; text: string };

/** Parses `--output` values (`registry`, `oci:DIR`, `oci-archive:FILE`, `docker-archive:FILE`). @throws BuildError */
export function parseOutputs(values: readonly string[]): BuildOutput[] {
  return values.map((value) => {
    if (value === 'registry' || value === 'type=registry') return { kind: 'registry' };
    const location = /^(oci|oci-archive|docker-archive):./.test(value) ? parseLocation(value) : undefined;
    if (!location || location.kind === 'registry') {
      throw new BuildError(`invalid --output "${value}"`, { hint: 'use registry, oci:DIR, oci-archive:FILE or docker-archive:FILE' });
    }
    return { kind: 'file', location, text: value };
  });
}

/** What went where. */
export interface OutputReport {
  /** the output: a reference or a file location */
  target: string;
  /** blobs by how they arrived, bytes sent */
  blobs: CopyResult['blobs'];
}

/**
 * Pushes the result to every tag (when `push`) and writes the file outputs.
 * @param onTransfer per blob progress (upload, exists, mounted)
 */
export async function writeOutputs(client: RegistryClient, result: BuiltResult, tags: readonly ImageReference[], outputs: readonly BuildOutput[], o: { push: boolean; signal?: AbortSignal; onTransfer?: (target: string, e: TransferEvent) => void; jobs?: number }): Promise<OutputReport[]> {
  const name = tags[0] ? formatReference(tags[0]) : 'wharf build';
  const source = resultSource(result, name, (repo, desc) => async (offset, length, signal) => rangeStream(client, repo, desc, offset, length, { signal }));
  const reports: OutputReport[] = [];
  const copy = async (target: string, sink: Promise<ImageSink>) => {
    const r = await copyImage(source, await sink, { signal: o.signal, jobs: o.jobs, onTransfer: (e) => o.onTransfer?.(target, e) });
    reports.push({ target, blobs: r.blobs });
  };
  if (o.push && outputs.some((x) => x.kind === 'registry')) {
    const pushed: ImageReference[] = [];
    for (const tag of tags) {
      const sameRepo = pushed.find((p) => p.registry === tag.registry && p.repository === tag.repository);
      if (sameRepo) {
        await client.putManifest(tag, tag.tag ?? result.root.digest, result.root.bytes, result.root.mediaType, { signal: o.signal });
        reports.push({ target: formatReference(tag), blobs: { uploaded: 0, exists: 0, mounted: 0, bytes: 0 } });
      } else await copy(formatReference(tag), openSink(client, { kind: 'registry', ref: tag }, undefined));
      pushed.push(tag);
    }
  }
  for (const output of outputs) {
    if (output.kind !== 'file') continue;
    const inside = output.location.kind === 'docker-archive' ? (tags[0] ? formatReference(tags[0]) : undefined) : tags[0]?.tag;
    await copy(output.text, openSink(client, output.location, inside));
  }
  return reports;
}
