/**
 * Where an image is, as the commands take it (skopeo's transports): `docker://REF` or a plain
 * reference for a registry; `oci:PATH[:NAME]` an OCI layout folder; `oci-archive:PATH[:NAME]` and
 * `docker-archive:PATH[:NAME]` tarballs; and, where a file is expected (push's SOURCE), a plain path
 * whose kind is told from what is there (a folder is a layout; a file is read as either tarball).
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { parseImageReference, type ImageReference } from '../../oci/image-reference.js';
import { ClientError } from '../errors.js';
import type { RegistryClient } from '../registry-client.js';
import { layoutSink, layoutSource, type LayoutSinkOptions } from './layout.js';
import { registrySink, registrySource } from './registry.js';
import type { ImageSink, ImageSource } from './types.js';

/** A parsed image location. */
export type ImageLocation =
  | { kind: 'registry'; ref: ImageReference }
  | { kind: 'oci' | 'oci-archive' | 'docker-archive' | 'path'; path: string; name?: string };

const TRANSPORT = /^(oci|oci-archive|docker-archive):(.+)$/;

/**
 * Parses a location. Without a transport prefix, `files` decides: a path (push's SOURCE) or a reference.
 * @throws ClientError INVALID_REFERENCE
 */
export function parseLocation(value: string, files = false): ImageLocation {
  const transport = TRANSPORT.exec(value);
  if (transport) {
    const [, kind, rest] = transport as unknown as [string, 'oci' | 'oci-archive' | 'docker-archive', string];
    const colon = rest.lastIndexOf(':');
    return colon > 0 && !rest.slice(colon).includes('/') ? { kind, path: rest.slice(0, colon), name: rest.slice(colon + 1) } : { kind, path: rest };
  }
  if (files) return { kind: 'path', path: value };
  if (/^\.{1,2}(?:\/|$)|^\//.test(value)) {
    throw new ClientError('INVALID_REFERENCE', `"${value}" is a path, not an image reference`, {
      hint: `write oci:${value}, oci-archive:${value} or docker-archive:${value}`,
    });
  }
  return { kind: 'registry', ref: parseReference(value.replace(/^docker:\/\//, '')) };
}

/**
 * Parses an image reference for the client. A URL scheme (`http://localhost:5000/team/app:1`) and a
 * second `:` in the tag (`hello:1.0:2`) are named as such, not as an invalid registry or repository.
 * @throws ClientError INVALID_REFERENCE
 */
export function parseReference(value: string, options: { defaultTag?: string | null } = {}): ImageReference {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme) {
    throw new ClientError('INVALID_REFERENCE', `invalid image reference "${value}": drop the scheme ${scheme[0]} and write ${value.slice(scheme[0].length)}`, {
      hint: 'wharf uses plain HTTP for loopback registries (localhost, 127.0.0.0/8, ::1) and for those given --insecure, HTTPS for the rest',
    });
  }
  const name = value.split('@')[0]!;
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (last.split(':').length > 2) {
    const tag = last.slice(last.indexOf(':') + 1);
    throw new ClientError('INVALID_REFERENCE', `invalid image reference "${value}": invalid tag "${tag}": a tag has no ":" (letters, digits, _ . -, up to 128, e.g. ${last.slice(0, last.indexOf(':'))}:1.0)`);
  }
  try {
    return parseImageReference(value, options);
  } catch (err) {
    throw new ClientError('INVALID_REFERENCE', `invalid image reference "${value}": ${(err as Error).message}`, { cause: err });
  }
}

/** The source at `location`. @throws ClientError NOT_FOUND when a path does not exist */
export async function openSource(client: RegistryClient, location: ImageLocation): Promise<ImageSource> {
  switch (location.kind) {
    case 'registry':
      return registrySource(client, location.ref);
    case 'oci':
      return layoutSource(location.path, location.name);
    case 'oci-archive':
    case 'docker-archive':
      refuseStream(location.path, await stat(location.path).catch(() => undefined));
      return (await import('./archive.js')).archiveSource(location.path, location.name);
    case 'path': {
      const found = await stat(location.path).catch(() => undefined);
      if (!found) throw new ClientError('NOT_FOUND', `${location.path}: no such file or folder`);
      if (found.isDirectory()) return layoutSource(location.path, location.name);
      refuseStream(location.path, found);
      return (await import('./archive.js')).archiveSource(location.path, location.name);
    }
  }
}

/**
 * A tarball is read in several passes (its index, then each blob at its offset), so it must be a file.
 * @param found what `stat` found at `path` (undefined: nothing; opening it then says so)
 * @throws ClientError INVALID_IMAGE when `path` is a pipe, a socket or a device (`/dev/stdin` fed by `docker save |`)
 */
function refuseStream(path: string, found: Stats | undefined): void {
  if (!found || found.isFile()) return;
  throw new ClientError('INVALID_IMAGE', `${path}: a pipe or device, not a file: a tarball is read in several passes, not as a stream`, {
    hint: 'save it to a file first (docker save app:1.0 -o app.tar), then give that file',
  });
}

/**
 * The sink at `location` (the tarball modules are loaded only for tarballs).
 * @param name the image's name inside a file destination (ref.name; a docker-archive's RepoTags entry)
 */
export async function openSink(client: RegistryClient, location: ImageLocation, name: string | undefined, options: LayoutSinkOptions = {}): Promise<ImageSink> {
  switch (location.kind) {
    case 'registry':
      return registrySink(client, location.ref);
    case 'oci':
    case 'path':
      return layoutSink(location.path, location.name ?? name, options);
    case 'oci-archive':
    case 'docker-archive':
      return (await import('./archive-sink.js')).archiveSink(location.path, location.kind, location.name ?? name, options);
  }
}
