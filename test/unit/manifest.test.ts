import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/oci/errors.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { DOCKER_FOREIGN_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../src/oci/media-types.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (c: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip') => ({ mediaType, digest: d(c), size: 10 });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function invalid(body: Buffer, type?: string): string {
  try {
    parseManifest(body, type);
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('MANIFEST_INVALID');
    return (err as RegistryError).message;
  }
  throw new Error('expected MANIFEST_INVALID');
}

describe('parseManifest', () => {
  const image = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc('c', 'application/vnd.oci.image.config.v1+json'), layers: [desc('1'), desc('2')] };

  it('lists the config and layers of an image manifest as required blobs', () => {
    const p = parseManifest(json(image), OCI_MANIFEST);
    expect(p.kind).toBe('image');
    expect(p.blobs.map((b) => b.digest)).toEqual([d('c'), d('1'), d('2')]);
    expect(p.manifests).toEqual([]);
    expect(p.artifactType).toBe('application/vnd.oci.image.config.v1+json');
  });

  it('lists the children of an index as required manifests', () => {
    const p = parseManifest(json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc('a', OCI_MANIFEST)] }), OCI_INDEX);
    expect(p.kind).toBe('index');
    expect(p.manifests.map((m) => m.digest)).toEqual([d('a')]);
  });

  it('takes the media type from the body when Content-Type is absent or generic, and infers it when both are', () => {
    expect(parseManifest(json(image), undefined).mediaType).toBe(OCI_MANIFEST);
    expect(parseManifest(json(image), 'application/json').mediaType).toBe(OCI_MANIFEST);
    const { mediaType: _m, ...noType } = image;
    expect(parseManifest(json(noType), undefined).mediaType).toBe(OCI_MANIFEST);
    expect(parseManifest(json({ schemaVersion: 2, manifests: [] }), undefined).mediaType).toBe(OCI_INDEX);
  });

  it('accepts Docker schema 2 manifests and manifest lists', () => {
    expect(parseManifest(json({ ...image, mediaType: DOCKER_MANIFEST }), DOCKER_MANIFEST).kind).toBe('image');
    expect(parseManifest(json({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [] }), DOCKER_MANIFEST_LIST).kind).toBe('index');
  });

  it('keeps subject, artifactType and annotations', () => {
    const p = parseManifest(json({ ...image, artifactType: 'application/x.sbom', subject: desc('f', OCI_MANIFEST), annotations: { a: 'b' } }), OCI_MANIFEST);
    expect(p.subject?.digest).toBe(d('f'));
    expect(p.artifactType).toBe('application/x.sbom');
    expect(p.annotations).toEqual({ a: 'b' });
  });

  it('does not require foreign layers that have urls', () => {
    const foreign = { ...desc('9', DOCKER_FOREIGN_LAYER), urls: ['https://example.com/layer'] };
    const p = parseManifest(json({ ...image, mediaType: DOCKER_MANIFEST, layers: [foreign, desc('1')] }), DOCKER_MANIFEST);
    expect(p.blobs.map((b) => b.digest)).toEqual([d('c'), d('1')]);
  });

  it('refuses Docker schema 1 with a clear message', () => {
    expect(invalid(json({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws')).toMatch(/schema 1/);
    expect(invalid(json({ schemaVersion: 1 }), undefined)).toMatch(/schema 1/);
  });

  it.each([
    ['not JSON', Buffer.from('{'), OCI_MANIFEST, /not valid JSON/],
    ['an array', json([]), OCI_MANIFEST, /JSON object/],
    ['mismatched media types', json(image), OCI_INDEX, /does not match/],
    ['an unknown media type', json({ ...image, mediaType: undefined }), 'text/plain', /unsupported manifest media type/],
    ['schemaVersion 3', json({ ...image, schemaVersion: 3 }), OCI_MANIFEST, /schemaVersion/],
    ['no config', json({ ...image, config: undefined }), OCI_MANIFEST, /config/],
    ['a bad layer digest', json({ ...image, layers: [{ ...desc('1'), digest: 'sha256:xyz' }] }), OCI_MANIFEST, /layers\[0\]\.digest/],
    ['a negative size', json({ ...image, layers: [{ ...desc('1'), size: -1 }] }), OCI_MANIFEST, /size/],
    ['an index without manifests', json({ schemaVersion: 2, mediaType: OCI_INDEX }), OCI_INDEX, /manifests/],
    ['non-string annotations', json({ ...image, annotations: { a: 1 } }), OCI_MANIFEST, /annotations/],
    ['a Docker manifest with no layers', json({ ...image, mediaType: DOCKER_MANIFEST, layers: [] }), DOCKER_MANIFEST, /at least one layer/],
  ])('refuses %s', (_what, body, type, message) => {
    expect(invalid(body, type)).toMatch(message);
  });
});
